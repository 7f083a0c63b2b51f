/* nestvirt's page in the web console. It judges nothing itself: every verdict,
 * finding and change comes from running the installed nestvirt through
 * cockpit.spawn (its JSON for what is shown, its dry runs for what would
 * change), so the page and the command line cannot disagree. Every value from
 * nestvirt is put in the page as text, never as markup. */
(function () {
    "use strict";

    // Options in the page's address (#/?root=DIR&connect=URI): judge a snapshot
    // tree's facts (enable and disable then act on the tree), and ask another
    // libvirt than qemu:///system.
    var root = (cockpit.location.options.root || "").toString();
    var connect = (cockpit.location.options.connect || "").toString();
    var levels = {
        "supported": "pf-m-green",
        "tech-preview": "pf-m-blue",
        "unsupported": "pf-m-gold",
        "untested": "pf-m-orange",
        "not-expected-to-work": "pf-m-red",
        "does-not-work": "pf-m-red"
    };
    var order = ["supported", "tech-preview", "unsupported", "untested", "not-expected-to-work", "does-not-work"];

    function $(id) { return document.getElementById(id); }
    function el(tag, cls, text) {
        var e = document.createElement(tag);
        if (cls) e.className = cls;
        if (text !== undefined && text !== null) e.textContent = text;
        return e;
    }
    function withRoot(args) { return root ? args.concat(["--root", root]) : args; }
    function withConnect(args) { return connect ? args.concat(["--connect", connect]) : args; }

    // The console's theme: the shell's choice (shell:style), else the system's.
    function theme() {
        var style = "auto";
        try { style = localStorage.getItem("shell:style") || "auto"; } catch (e) { /* storage refused */ }
        var dark = style === "dark" || (style === "auto" && window.matchMedia("(prefers-color-scheme: dark)").matches);
        document.documentElement.classList.toggle("pf-theme-dark", dark);
    }
    theme();
    window.addEventListener("storage", function (ev) { if (ev.key === "shell:style") theme(); });
    window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", theme);

    /* run spawns nestvirt and resolves {code, out, err} whatever its exit: a
     * document is printed with its error inside, and a refusal is an answer. A
     * nestvirt that cannot be run rejects with a message saying so. */
    function run(args, opts) {
        opts = opts || {};
        return new Promise(function (resolve, reject) {
            var proc = cockpit.spawn(["nestvirt"].concat(args), { superuser: opts.superuser || "try", err: "message" });
            if (opts.input !== undefined) proc.input(opts.input);
            proc.done(function (out, message) { resolve({ code: 0, out: out, err: message || "" }); });
            proc.fail(function (ex, out) {
                if (ex.problem === "not-found") {
                    reject(new Error("nestvirt is not installed on this host (no nestvirt in the PATH of the console's bridge): install the nestvirt package."));
                } else if (ex.problem === "access-denied" || ex.problem === "not-authorized") {
                    reject(new Error("This needs administrative access: turn it on in the console's top bar (" + ex.problem + ")."));
                } else if (ex.exit_status !== undefined && ex.exit_status !== null) {
                    resolve({ code: ex.exit_status, out: out || "", err: ex.message || "" });
                } else {
                    reject(new Error("nestvirt could not be run: " + (ex.message || ex.problem || ex)));
                }
            });
        });
    }

    function alert(kind, title, text) {
        var a = el("div", "pf-c-alert pf-m-inline pf-m-" + kind);
        a.setAttribute("role", kind === "danger" ? "alert" : "status");
        a.appendChild(el("p", "pf-c-alert__title", title));
        if (text) a.appendChild(el("div", "pf-c-alert__description", text));
        $("alerts").appendChild(a);
        return a;
    }

    function label(level) {
        var l = el("span", "pf-c-label " + (levels[level] || "pf-m-grey"));
        l.dataset.level = level || "";
        l.appendChild(el("span", "pf-c-label__content", level || "not judged"));
        return l;
    }
    function unknown(v, text) {
        if (v === null || v === undefined) return el("span", "nv-unknown", text || "unknown");
        return document.createTextNode(String(v));
    }
    function fact(dl, name, value) {
        var g = el("div", "pf-c-description-list__group");
        g.appendChild(el("dt", "pf-c-description-list__term", name));
        var dd = el("dd", "pf-c-description-list__description");
        dd.appendChild(value);
        g.appendChild(dd);
        dl.appendChild(g);
    }
    function yesNo(b, yes, no) {
        if (b === null || b === undefined) return unknown(null);
        return document.createTextNode(b ? yes : no);
    }

    function findingItem(f) {
        var li = el("li", "nv-finding");
        li.dataset.rule = f.rule;
        var head = el("p", "nv-finding__head");
        head.appendChild(label(f.level));
        head.appendChild(document.createTextNode(" "));
        head.appendChild(el("code", "", f.rule));
        if (f.undetermined) head.appendChild(el("span", "nv-unknown", " undetermined: rests on " + f.unknown.join(", ") + ", which could not be read"));
        if (f.informational) head.appendChild(el("span", "nv-muted", " (information)"));
        li.appendChild(head);
        li.appendChild(el("p", "", f.message));
        if (f.remedy) {
            var r = el("p", "nv-remedy");
            r.appendChild(el("strong", "", "Remedy: "));
            r.appendChild(document.createTextNode(f.remedy));
            li.appendChild(r);
        }
        li.appendChild(el("p", "nv-source", "Source: " + f.source));
        return li;
    }

    function position(v) {
        if (!v) return unknown(null);
        if (v.vm === "none") return document.createTextNode("bare metal: this host is the L0");
        var what = v.vm === null ? "a guest of an unknown hypervisor" : "a guest (" + v.vm + (v.hypervisor && v.hypervisor !== v.vm ? ", " + v.hypervisor : "") + ")";
        var depth = v.level !== null ? "level " + v.level : (v.level_min !== null ? "level " + v.level_min + " or deeper" : "level unknown");
        return document.createTextNode(what + ", " + depth);
    }

    /* The host, as nestvirt check says. */
    function loadHost() {
        $("host-loading").hidden = false;
        $("host").hidden = true;
        return run(withRoot(["check", "--format", "json", "--fail-on", "never"])).then(function (r) {
            var d;
            try { d = JSON.parse(r.out); } catch (e) { throw new Error("nestvirt check printed no document: " + (r.err || r.out).trim()); }
            $("host-loading").hidden = true;
            if (d.error) alert("danger", "nestvirt check: " + d.error.kind, d.error.message);
            if (!d.host) return d;
            $("host").hidden = false;
            var v = $("host-verdict");
            v.replaceWith(label(d.verdict));
            v = document.querySelector("#host .nv-verdict .pf-c-label");
            v.id = "host-verdict";
            var h = d.host, k = h.kvm, dl = $("host-facts");
            dl.textContent = "";
            fact(dl, "Host", unknown(h.hostname));
            fact(dl, "Position", position(h.virtualization));
            fact(dl, "CPU", document.createTextNode([h.arch, h.cpu_vendor, h.virt_extension === null ? "extension unknown" : "extension " + h.virt_extension].filter(Boolean).join(", ")));
            fact(dl, "OS", h.os ? document.createTextNode(h.os.name) : unknown(null));
            fact(dl, "KVM", yesNo(k.available, "available (/dev/kvm)", "not available"));
            fact(dl, "KVM module", unknown(k.module, "none loaded, or unknown"));
            fact(dl, "Nesting now", yesNo(k.nested, "on", "off"));
            fact(dl, "Nesting at the next load", k.nested_next === null ? unknown(null) : document.createTextNode((k.nested_next ? "on" : "off") + (k.nested_next_from ? " (" + k.nested_next_from + ")" : "")));
            fact(dl, "Migrates its VMs (stated)", yesNo(h.stated.migration, "yes", "no"));
            if (h.virtualization.level_min !== null && h.virtualization.level_min >= 1) fact(dl, "L0's OS (stated)", unknown(h.stated.l0_os, "not stated"));
            var ul = $("host-findings");
            ul.textContent = "";
            d.findings.forEach(function (f) { ul.appendChild(findingItem(f)); });
            if (!d.findings.length) ul.appendChild(el("li", "nv-muted", "none"));
            return d;
        });
    }

    function worstFinding(vm) {
        var w = null;
        (vm.chains || []).forEach(function (c) {
            c.findings.forEach(function (f) {
                if (f.informational || f.undetermined) return;
                if (!w || order.indexOf(f.level) > order.indexOf(w.level)) w = f;
            });
        });
        return w;
    }

    /* The VMs, as nestvirt vms says. */
    function loadVMs() {
        $("vms-loading").hidden = false;
        return run(withConnect(withRoot(["vms", "--format", "json", "--fail-on", "never"]))).then(function (r) {
            var d;
            try { d = JSON.parse(r.out); } catch (e) { throw new Error("nestvirt vms printed no document: " + (r.err || r.out).trim()); }
            $("vms-loading").hidden = true;
            var table = $("vms"), body = table.querySelector("tbody"), sum = $("vms-summary");
            body.textContent = "";
            sum.hidden = false;
            if (d.error) {
                table.hidden = true;
                sum.textContent = "";
                sum.appendChild(el("span", "nv-error", "The VMs could not be listed: " + d.error.message));
                return d;
            }
            sum.textContent = d.vms.length + (d.vms.length === 1 ? " VM" : " VMs") + " on " + d.uri + ": " + (d.verdict || "nothing to judge");
            table.hidden = d.vms.length === 0;
            d.vms.forEach(function (vm) {
                var tr = el("tr");
                tr.dataset.name = vm.name;
                tr.dataset.verdict = vm.verdict;
                var td = function (child, lab) { var c = el("td"); c.dataset.label = lab; c.appendChild(child); tr.appendChild(c); return c; };
                td(document.createTextNode(vm.name), "Name");
                td(unknown(vm.state), "State");
                var chains = el("div");
                (vm.chains || []).forEach(function (c) { chains.appendChild(el("div", "nv-chain", c.path.join(" → "))); });
                td(chains, "Chain");
                td(vm.exposes_virtualization === null ? unknown(null, "unknown" + (vm.exposes_reason ? " (" + vm.exposes_reason + ")" : "")) : document.createTextNode(vm.exposes_virtualization ? "yes" : "no"), "Exposes virtualization");
                td(label(vm.verdict), "Verdict");
                var w = worstFinding(vm);
                td(w ? document.createTextNode(w.level + " " + w.rule + ": " + w.message) : el("span", "nv-muted", vm.error || "none"), "Worst finding");
                var act = el("button", "pf-c-button pf-m-secondary pf-m-small", vm.exposes_virtualization ? "Unexpose…" : "Expose…");
                act.type = "button";
                act.dataset.action = vm.exposes_virtualization ? "unexpose" : "expose";
                act.addEventListener("click", function () {
                    var verb = vm.exposes_virtualization ? "unexpose" : "expose";
                    confirmAction((verb === "expose" ? "Expose virtualization to " : "Stop exposing virtualization to ") + vm.name, withConnect(withRoot([verb, vm.name])), true);
                });
                td(act, "Actions");
                body.appendChild(tr);
            });
            return d;
        });
    }

    function loadGuard() {
        return run(withRoot(["guard", "status"])).then(function (r) {
            $("guard-status").textContent = (r.out + r.err).trim();
        });
    }

    function refresh() {
        $("alerts").textContent = "";
        var fail = function (what) { return function (e) { $(what + "-loading") && ($(what + "-loading").hidden = true); alert("danger", e.message); }; };
        return Promise.all([loadHost().catch(fail("host")), loadVMs().catch(fail("vms")), loadGuard().catch(fail("guard"))]).then(function () {
            document.body.dataset.ready = "true";
        });
    }

    /* confirmAction shows the exact command, its dry run when it has one, and
     * runs it only when confirmed; nestvirt's refusal is shown as it says it. */
    var pending = null;
    function show(id, text) { $(id).hidden = false; $(id).textContent = text; $(id + "-label") && ($(id + "-label").hidden = false); }
    function confirmAction(title, args, dryRun) {
        var dlg = $("confirm");
        pending = args;
        $("confirm-title").textContent = title;
        $("confirm-command").textContent = ["nestvirt"].concat(args).map(quote).join(" ");
        ["confirm-preview", "confirm-preview-label", "confirm-result", "confirm-result-label"].forEach(function (id) { $(id).hidden = true; });
        $("confirm-run").disabled = dryRun;
        $("confirm-run").hidden = false;
        $("confirm-close").textContent = "Cancel";
        dlg.dataset.state = dryRun ? "previewing" : "ready";
        dlg.showModal();
        if (!dryRun) return;
        run(args.concat(["--dry-run"]), { superuser: "try" }).then(function (r) {
            if (r.code === 0) {
                show("confirm-preview", r.out.trim() || "(nothing to change)");
                $("confirm-run").disabled = false;
                dlg.dataset.state = "ready";
            } else {
                show("confirm-preview", "nestvirt refuses (exit " + r.code + "):\n" + (r.err || r.out).trim());
                $("confirm-run").hidden = true;
                $("confirm-close").textContent = "Close";
                dlg.dataset.state = "refused";
            }
        }, function (e) {
            show("confirm-preview", e.message);
            $("confirm-run").hidden = true;
            dlg.dataset.state = "refused";
        });
    }
    function quote(a) { return /^[A-Za-z0-9_.,:=/@+-]+$/.test(a) ? a : "'" + a.replace(/'/g, "'\\''") + "'"; }
    $("confirm-run").addEventListener("click", function () {
        var dlg = $("confirm");
        $("confirm-run").disabled = true;
        dlg.dataset.state = "running";
        run(pending, { superuser: "try" }).then(function (r) {
            show("confirm-result", (r.code === 0 ? "" : "nestvirt exited " + r.code + ":\n") + (r.out + r.err).trim());
            dlg.dataset.state = r.code === 0 ? "done" : "failed";
        }, function (e) {
            show("confirm-result", e.message);
            dlg.dataset.state = "failed";
        }).then(function () {
            $("confirm-run").hidden = true;
            $("confirm-close").textContent = "Close";
            refresh();
        });
    });
    $("confirm-close").addEventListener("click", function () { $("confirm").close(); });

    /* A planned topology, judged by nestvirt plan. */
    function judgePlan() {
        var out = $("plan-result");
        out.textContent = "";
        out.dataset.state = "running";
        run(["plan", "-", "--format", "json", "--fail-on", "never"], { input: $("plan-text").value }).then(function (r) {
            var d;
            try { d = JSON.parse(r.out); } catch (e) { throw new Error("nestvirt plan printed no document: " + (r.err || r.out).trim()); }
            if (d.error) out.appendChild(el("p", "nv-error", d.error.message));
            d.topologies.forEach(function (t) {
                var sec = el("section", "nv-topology");
                var head = el("h3", "pf-c-title pf-m-md", (t.name || "topology") + ": ");
                head.appendChild(label(t.verdict));
                sec.appendChild(head);
                if (t.error) {
                    sec.appendChild(el("p", "nv-error", t.error.message));
                    var ul = el("ul");
                    t.error.problems.forEach(function (p) { ul.appendChild(el("li", "", (p.line ? "line " + p.line + (p.column ? ":" + p.column : "") + ": " : "") + (p.path ? p.path + ": " : "") + p.message)); });
                    sec.appendChild(ul);
                }
                t.chains.forEach(function (c) {
                    var ch = el("div", "nv-chain-result");
                    var p = el("p", "nv-chain", c.path.join(" → ") + " ");
                    p.appendChild(label(c.verdict));
                    ch.appendChild(p);
                    var ul = el("ul", "nv-findings");
                    c.findings.forEach(function (f) { if (!f.informational) ul.appendChild(findingItem(f)); });
                    ch.appendChild(ul);
                    sec.appendChild(ch);
                });
                out.appendChild(sec);
            });
            out.dataset.state = "done";
        }).catch(function (e) {
            out.appendChild(el("p", "nv-error", e.message));
            out.dataset.state = "failed";
        });
    }
    $("plan-run").addEventListener("click", judgePlan);
    $("plan-file").addEventListener("change", function (ev) {
        var f = ev.target.files[0];
        if (!f) return;
        if (f.size > 4 << 20) { alert("danger", f.name + " is larger than 4 MiB: not a topology file nestvirt reads"); return; }
        f.text().then(function (t) { $("plan-text").value = t; judgePlan(); });
    });

    $("enable").addEventListener("click", function () { confirmAction("Enable nesting in this host's KVM module", withRoot(["enable"]), true); });
    $("disable").addEventListener("click", function () { confirmAction("Disable nesting in this host's KVM module", withRoot(["disable"]), true); });
    $("guard-install").addEventListener("click", function () { confirmAction("Install the guard (a libvirt hook)", ["guard", "install"], false); });
    $("guard-remove").addEventListener("click", function () { confirmAction("Remove the guard", ["guard", "uninstall"], false); });
    $("refresh").addEventListener("click", refresh);

    if (root || connect) {
        $("snapshot").hidden = false;
        $("snapshot").textContent = (root ? "Judging the snapshot tree " + root + " (its facts; enable and disable act on the tree). " : "") +
            (connect ? "VMs of " + connect + "." : "");
    }
    cockpit.transport.wait(refresh);
}());
