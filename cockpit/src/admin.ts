import { useEffect, useState } from "react";

/* Admin is whether this session can act as root: "yes" (administrative
 * access is on), "off" (the session could turn it on in the top bar), "no"
 * (it has no way to), null while the console has not said. From the
 * console's own superuser object, as its pages read it. */
export type Admin = "yes" | "off" | "no" | null;

export function useAdmin(): Admin {
    const [admin, setAdmin] = useState<Admin>(null);
    useEffect(() => {
        const proxy = cockpit.dbus(null, { bus: "internal" }).proxy("cockpit.Superuser", "/superuser");
        const update = () => {
            if (!proxy.valid)
                return;
            const current = proxy.Current as string | undefined;
            const bridges = (proxy.Bridges as string[] | undefined) || [];
            if (current === "root")
                setAdmin("yes");
            else if (current === "none")
                setAdmin(bridges.length > 0 ? "off" : "no");
        };
        proxy.addEventListener("changed", update);
        proxy.wait(update);
        return () => proxy.removeEventListener("changed", update);
    }, []);
    return admin;
}
