/* The console's theme: the shell's choice (localStorage shell:style: light,
 * dark or auto), else the system's; PatternFly 6 draws dark under
 * pf-v6-theme-dark on the root element. As cockpit's own pages do
 * (pkg/lib/cockpit-dark-theme), it follows a change made in the shell. */
export function followTheme(): void {
    const media = window.matchMedia("(prefers-color-scheme: dark)");
    const apply = () => {
        let style = "auto";
        try {
            style = window.localStorage.getItem("shell:style") || "auto";
        } catch { /* storage refused: the system's choice */ }
        const dark = style === "dark" || (style === "auto" && media.matches);
        document.documentElement.classList.toggle("pf-v6-theme-dark", dark);
    };
    apply();
    window.addEventListener("storage", ev => { if (ev.key === "shell:style") apply() });
    media.addEventListener("change", apply);
}
