/* Running nestvirt and reading its documents. The page judges nothing: every
 * verdict, finding, possible action and refusal is nestvirt's own, from its
 * JSON (schema/*.v1.json in the nestvirt repository). */

const _ = cockpit.gettext;

export type Level = "supported" | "tech-preview" | "unsupported" | "untested" | "not-expected-to-work" | "does-not-work";

export interface Finding {
    rule: string;
    level: Level;
    informational: boolean;
    undetermined: boolean;
    unknown: string[];
    message: string;
    source: string;
    remedy: string | null;
}

export interface Chain {
    path: string[];
    verdict: Level;
    findings: Finding[];
}

export interface Action {
    id: "enable" | "disable" | "guard-install" | "guard-uninstall" | "expose" | "unexpose";
    possible: boolean | null;
    why: string | null;
    command: string[];
    dry_run: string[];
}

export interface Host {
    hostname: string | null;
    arch: string | null;
    cpu_vendor: string | null;
    cpu_model: string | null;
    virt_extension: string | null;
    os: { name: string } | null;
    virtualization: { vm: string | null; hypervisor: string | null; level: number | null; level_min: number | null };
    kvm: {
        available: boolean | null;
        module: string | null;
        nested: boolean | null;
        nested_next: boolean | null;
        nested_next_from: string | null;
    };
    stated: { migration: boolean | null; l0_os: string | null };
    notes: string[];
}

export interface DocError { kind: string; message: string }

export interface Possibility { level: Level; rule: string; fact: string; flag: string; if: string; file: string }

export interface CheckDoc {
    verdict: Level | null;
    host: Host | null;
    findings: Finding[];
    could_be?: Possibility[];
    actions?: Action[];
    error: DocError | null;
}

export interface VM {
    name: string;
    state: string | null;
    exposes_virtualization: boolean | null;
    exposes_reason: string | null;
    verdict: Level;
    chains: Chain[];
    error: string | null;
    actions?: Action[];
}

export interface VMsDoc {
    verdict: Level | null;
    uri: string | null;
    notes: string[];
    vms: VM[];
    error: DocError | null;
}

export interface Topology {
    name: string | null;
    verdict: Level | null;
    chains: Chain[];
    error: { message: string; problems: { line: number | null; column: number | null; path: string | null; message: string }[] } | null;
}

export interface PlanDoc { verdict: Level | null; topologies: Topology[]; error: DocError | null }

export const levels: Level[] = ["supported", "tech-preview", "unsupported", "untested", "not-expected-to-work", "does-not-work"];

export interface Result { code: number; out: string; err: string }

/* NotInstalled and NeedsAdmin are the two failures the page explains in its
 * own words; anything else is nestvirt's. */
export class NotInstalled extends Error {}
export class NeedsAdmin extends Error {}

/* run spawns nestvirt and resolves its exit code and output, whatever the
 * code: a document carries its error inside, a refusal is an answer. Only
 * admin runs ask for administrative access; reads run as the user. */
export function run(args: string[], opts: { admin?: boolean; input?: string } = {}): Promise<Result> {
    return new Promise((resolve, reject) => {
        const options: cockpit.SpawnOptions = { err: "message" };
        if (opts.admin)
            options.superuser = "require";
        const proc = cockpit.spawn(["nestvirt", ...args], options);
        if (opts.input !== undefined)
            proc.input(opts.input);
        proc.done((out, message) => resolve({ code: 0, out, err: message || "" }));
        proc.fail((ex, out) => {
            if (ex.problem === "not-found")
                reject(new NotInstalled(_("nestvirt is not installed on this host (no nestvirt in the PATH of the console's bridge): install the nestvirt package.")));
            else if (ex.problem === "access-denied" || ex.problem === "not-authorized")
                reject(new NeedsAdmin(cockpit.format(_("This needs administrative access, which this session does not have ($0)."), ex.problem)));
            else if (ex.exit_status !== null && ex.exit_status !== undefined)
                resolve({ code: ex.exit_status, out: out || "", err: ex.message || "" });
            else
                reject(new Error(cockpit.format(_("nestvirt could not be run: $0"), ex.message || ex.problem || String(ex))));
        });
    });
}

/* json runs a read and parses its document. */
export async function json<T>(args: string[], opts: { admin?: boolean; input?: string } = {}): Promise<T> {
    const r = await run(args, opts);
    try {
        return JSON.parse(r.out) as T;
    } catch {
        throw new Error(cockpit.format(_("nestvirt $0 printed no document: $1"), args[0], (r.err || r.out).trim()));
    }
}

/* quote is a command as a shell would need it, to show it. */
export function quote(args: string[]): string {
    const q = "'";
    return ["nestvirt", ...args].map(a => /^[A-Za-z0-9_.,:=/@+-]+$/.test(a) ? a : q + a.split(q).join(q + "\\" + q + q) + q).join(" ");
}

/* worst is a VM's worst decided finding, by level. */
export function worst(chains: Chain[]): Finding | null {
    let w: Finding | null = null;
    for (const c of chains)
        for (const f of c.findings) {
            if (f.informational || f.undetermined)
                continue;
            if (!w || levels.indexOf(f.level) > levels.indexOf(w.level))
                w = f;
        }
    return w;
}
