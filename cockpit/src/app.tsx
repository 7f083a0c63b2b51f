import React, { useCallback, useEffect, useMemo, useState } from "react";
import {
    Alert, Button, Card, CardBody, CardTitle, CodeBlock, CodeBlockCode, Content, DescriptionList, DescriptionListDescription,
    DescriptionListGroup, DescriptionListTerm, Flex, FormSelect, FormSelectOption, Page, PageSection, SearchInput, TextArea,
    Title, Toolbar, ToolbarContent, ToolbarItem,
} from "@patternfly/react-core";
import { Table, Tbody, Td, Th, Thead, ThProps, Tr } from "@patternfly/react-table";

import { Admin, useAdmin } from "./admin";
import { ActionDialog, AddressOption } from "./dialog";
import { Action, CheckDoc, Host, json, Level, levels, NotInstalled, PlanDoc, run, VM, VMsDoc, worst } from "./nestvirt";
import { ActionButton, ActionReasons, Findings, LevelLabel, notAvailable, Unknown } from "./parts";

const _ = cockpit.gettext;

type Loaded<T> = { state: "loading" } | { state: "done"; doc: T } | { state: "failed"; message: string };

/* The page's address options: #/?root=DIR judges a snapshot tree (enable and
 * disable then act on it), #/?connect=URI asks another libvirt. They are
 * shown, and confirmed in each dialog before a command as root uses them. */
function addressOptions(): AddressOption[] {
    const o = cockpit.location.options;
    const out: AddressOption[] = [];
    const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v) || "";
    const root = one(o.root), connect = one(o.connect);
    if (root)
        out.push({ flag: "--root", value: root, words: _("the snapshot tree nestvirt judges and changes instead of this machine") });
    if (connect)
        out.push({ flag: "--connect", value: connect, words: _("the libvirt daemon nestvirt connects to, as root") });
    return out;
}

function withAddress(args: string[], address: AddressOption[], which: string[]): string[] {
    const flags = address.filter(o => which.includes(o.flag)).flatMap(o => [o.flag, o.value]);
    return [...args, ...flags];
}

function position(h: Host): string {
    const v = h.virtualization;
    if (v.vm === "none")
        return _("bare metal: this host is the L0");
    const what = v.vm === null
        ? _("a guest of a hypervisor that could not be identified")
        : cockpit.format(_("a guest ($0)"), v.vm + (v.hypervisor && v.hypervisor !== v.vm ? ", " + v.hypervisor : ""));
    const depth = v.level !== null
        ? cockpit.format(_("level $0"), v.level)
        : v.level_min !== null ? cockpit.format(_("level $0 or deeper"), v.level_min) : _("level unknown");
    return what + ", " + depth;
}

const yesNo = (b: boolean | null, yes: string, no: string) => b === null ? <Unknown /> : <>{b ? yes : no}</>;

const Fact = ({ term, children }: { term: string; children: React.ReactNode }) =>
    <DescriptionListGroup>
        <DescriptionListTerm>{term}</DescriptionListTerm>
        <DescriptionListDescription>{children}</DescriptionListDescription>
    </DescriptionListGroup>;

const actionOf = (list: Action[] | undefined, id: Action["id"]) => list?.find(a => a.id === id);

type Open = (title: string, a: Action) => void;

const HostCard = ({ check, admin, open }: { check: Loaded<CheckDoc>; admin: Admin; open: Open }) => {
    if (check.state === "loading")
        return <Content component="p" className="nv-muted" id="host-loading">{_("Running nestvirt check…")}</Content>;
    if (check.state === "failed")
        return <Alert isInline variant="danger" title={check.message} id="host-error" />;
    const d = check.doc;
    if (!d.host)
        return <Alert isInline variant="danger" title={cockpit.format(_("nestvirt check: $0"), d.error?.kind || "")} id="host-error">{d.error?.message}</Alert>;
    const h = d.host, k = h.kvm;
    const enable = actionOf(d.actions, "enable"), disable = actionOf(d.actions, "disable");
    return (
        <div id="host">
            {d.error && <Alert isInline variant="danger" title={cockpit.format(_("nestvirt check: $0"), d.error.kind)}>{d.error.message}</Alert>}
            <Content component="p" className="nv-verdict">{_("Verdict:")} <LevelLabel level={d.verdict} id="host-verdict" /></Content>
            <DescriptionList isHorizontal isCompact id="host-facts">
                <Fact term={_("Host")}>{h.hostname ?? <Unknown />}</Fact>
                <Fact term={_("Position")}>{position(h)}</Fact>
                <Fact term={_("CPU")}>{[h.arch, h.cpu_vendor, h.virt_extension === null ? _("extension unknown") : cockpit.format(_("extension $0"), h.virt_extension)].filter(Boolean).join(", ")}</Fact>
                <Fact term={_("OS")}>{h.os ? h.os.name : <Unknown />}</Fact>
                <Fact term={_("KVM")}>{yesNo(k.available, _("available (/dev/kvm)"), _("not available"))}</Fact>
                <Fact term={_("KVM module")}>{k.module ?? <Unknown text={_("none loaded, or unknown")} />}</Fact>
                <Fact term={_("Nesting now")}>{yesNo(k.nested, _("on"), _("off"))}</Fact>
                <Fact term={_("Nesting at the next load")}>
                    {k.nested_next === null ? <Unknown /> : (k.nested_next ? _("on") : _("off")) + (k.nested_next_from ? " (" + k.nested_next_from + ")" : "")}
                </Fact>
                <Fact term={_("Migrates its VMs (stated)")}>{yesNo(h.stated.migration, _("yes"), _("no"))}</Fact>
                {h.virtualization.level_min !== null && h.virtualization.level_min >= 1 &&
                    <Fact term={_("L0's OS (stated)")}>{h.stated.l0_os ?? <Unknown text={_("not stated")} />}</Fact>}
            </DescriptionList>
            {h.notes.length > 0 && <>
                <Title headingLevel="h3" size="md" className="nv-subtitle">{_("Not read as you")}</Title>
                <ul id="host-notes" className="nv-muted">{h.notes.map((n, i) => <li key={i}>{n}</li>)}</ul>
            </>}
            <Title headingLevel="h3" size="md" className="nv-subtitle">{_("Findings")}</Title>
            <Findings findings={d.findings} id="host-findings" />
            {(d.could_be || []).length > 0 && <>
                <Title headingLevel="h3" size="md" className="nv-subtitle">{_("What stating a fact would make it")}</Title>
                <ul id="host-could-be">{(d.could_be || []).map((p, i) =>
                    <li key={i}>{cockpit.format(_("$0 ($1) if $2: state it with $3, or in /etc/nestvirt/host.yaml ($4)"), p.level, p.rule, p.if, p.flag, p.file)}</li>)}
                </ul>
            </>}
            <Flex className="nv-actions">
                <ActionButton id="enable" label={_("Enable nesting…")} action={enable} admin={admin} primary
                              onRun={a => open(_("Enable nesting in this host's KVM module"), a)} />
                <ActionButton id="disable" label={_("Disable nesting…")} action={disable} admin={admin}
                              onRun={a => open(_("Disable nesting in this host's KVM module"), a)} />
            </Flex>
            <ActionReasons admin={admin} items={[{ label: _("Enable nesting"), action: enable }, { label: _("Disable nesting"), action: disable }]} />
        </div>
    );
};

type SortKey = "name" | "state" | "verdict" | "worst";

/* machinesConnection is the Virtual Machines page's name for a URI, when it
 * can show that daemon's VMs. */
function machinesConnection(uri: string | null): string | null {
    if (uri === "qemu:///system")
        return "system";
    if (uri === "qemu:///session")
        return "session";
    return null;
}

const VMsCard = ({ vms, admin, open, machines, onElevate }: {
    vms: Loaded<VMsDoc>;
    admin: Admin;
    open: Open;
    machines: boolean;
    onElevate: () => void;
}) => {
    const [filter, setFilter] = useState("");
    const [verdict, setVerdict] = useState("");
    const [sort, setSort] = useState<{ key: SortKey; dir: "asc" | "desc" }>({ key: "verdict", dir: "desc" });
    const rows = useMemo(() => {
        if (vms.state !== "done")
            return [];
        const rank = (l: Level | null) => l ? levels.indexOf(l) : -1;
        const key = (v: VM): string | number => {
            switch (sort.key) {
            case "name": return v.name;
            case "state": return v.state || "";
            case "verdict": return rank(v.verdict);
            case "worst": return rank(worst(v.chains)?.level || null);
            }
        };
        const f = filter.toLowerCase();
        return vms.doc.vms
                .filter(v => (!verdict || v.verdict === verdict) &&
                    (!f || v.name.toLowerCase().includes(f) || (worst(v.chains)?.rule || "").includes(f)))
                .sort((a, b) => {
                    const x = key(a), y = key(b);
                    const c = x < y ? -1 : x > y ? 1 : a.name.localeCompare(b.name);
                    return sort.dir === "asc" ? c : -c;
                });
    }, [vms, filter, verdict, sort]);

    if (vms.state === "loading")
        return <Content component="p" className="nv-muted" id="vms-loading">{_("Running nestvirt vms…")}</Content>;
    if (vms.state === "failed")
        return <Alert isInline variant="danger" title={vms.message} id="vms-summary" />;
    const d = vms.doc;
    if (d.error)
        return (
            <Alert isInline variant="danger" id="vms-summary" title={_("The VMs could not be listed")}
                   actionLinks={admin === "yes" && <Button variant="link" isInline id="vms-elevate" onClick={onElevate}>{_("List them with administrative access")}</Button>}>
                {d.error.message}
            </Alert>
        );
    const connection = machinesConnection(d.uri);
    // A reason every VM shares (the host's: PVM, nesting off) is said once,
    // above the table, not on every row.
    const shared = (id: Action["id"]) => {
        const whys = d.vms.map(v => notAvailable(actionOf(v.actions, id), admin));
        return whys.length > 1 && whys.every(w => w !== null && w === whys[0]) ? whys[0] : null;
    };
    const sharedExpose = shared("expose"), sharedUnexpose = shared("unexpose");
    const th = (k: SortKey, index: number): ThProps["sort"] => ({
        sortBy: { index: ["name", "state", "verdict", "worst"].indexOf(sort.key), direction: sort.dir },
        onSort: (_e, _i, dir) => setSort({ key: k, dir }),
        columnIndex: index,
    });
    return (
        <>
            <Content component="p" id="vms-summary">
                {cockpit.format(cockpit.ngettext("$0 VM on $1: $2", "$0 VMs on $1: $2", d.vms.length), d.vms.length, d.uri || "", d.verdict || _("nothing to judge"))}
            </Content>
            {d.vms.length > 0 && <>
                <Toolbar>
                    <ToolbarContent>
                        <ToolbarItem>
                            <SearchInput id="vms-filter" placeholder={_("Filter by name or rule")} value={filter}
                                         onChange={(_e, v) => setFilter(v)} onClear={() => setFilter("")} />
                        </ToolbarItem>
                        <ToolbarItem>
                            <FormSelect id="vms-verdict" value={verdict} onChange={(_e, v) => setVerdict(v)} aria-label={_("Verdict")}>
                                <FormSelectOption value="" label={_("Every verdict")} />
                                {levels.map(l => <FormSelectOption key={l} value={l} label={l} />)}
                            </FormSelect>
                        </ToolbarItem>
                        <ToolbarItem><span id="vms-shown" className="nv-muted">{cockpit.format(_("$0 of $1 shown"), rows.length, d.vms.length)}</span></ToolbarItem>
                    </ToolbarContent>
                </Toolbar>
                {(sharedExpose || sharedUnexpose) &&
                    <ul className="nv-reasons" id="vms-reasons">
                        {sharedExpose && <li data-for="expose">{cockpit.format(_("$0: not offered for any VM: $1"), _("Expose"), sharedExpose)}</li>}
                        {sharedUnexpose && <li data-for="unexpose">{cockpit.format(_("$0: not offered for any VM: $1"), _("Unexpose"), sharedUnexpose)}</li>}
                    </ul>}
                <Table id="vms" aria-label={_("Virtual machines and their nested verdicts")} variant="compact">
                    <Thead>
                        <Tr>
                            <Th modifier="wrap" sort={th("name", 0)} id="vms-sort-name">{_("Name")}</Th>
                            <Th modifier="wrap" sort={th("state", 1)}>{_("State")}</Th>
                            <Th modifier="wrap">{_("Chain")}</Th>
                            <Th modifier="wrap">{_("Exposes virtualization")}</Th>
                            <Th modifier="wrap" sort={th("verdict", 2)} id="vms-sort-verdict">{_("Verdict")}</Th>
                            <Th modifier="wrap" sort={th("worst", 3)} width={30}>{_("Worst finding")}</Th>
                            <Th screenReaderText={_("Actions")} />
                        </Tr>
                    </Thead>
                    <Tbody>
                        {rows.map(vm => {
                            const w = worst(vm.chains);
                            const expose = actionOf(vm.actions, "expose"), unexpose = actionOf(vm.actions, "unexpose");
                            return (
                                <Tr key={vm.name} data-name={vm.name} data-verdict={vm.verdict}>
                                    <Td dataLabel={_("Name")}>
                                        {machines && connection
                                            ? <Button variant="link" isInline className="nv-vm-link"
                                                      onClick={() => cockpit.jump("/machines#vm?name=" + encodeURIComponent(vm.name) + "&connection=" + connection)}>
                                                {vm.name}
                                            </Button>
                                            : vm.name}
                                    </Td>
                                    <Td dataLabel={_("State")}>{vm.state ?? <Unknown />}</Td>
                                    <Td dataLabel={_("Chain")}>{vm.chains.map((c, i) => <div key={i} className="nv-chain">{c.path.join(" → ")}</div>)}</Td>
                                    <Td dataLabel={_("Exposes virtualization")}>
                                        {vm.exposes_virtualization === null
                                            ? <Unknown text={_("unknown") + (vm.exposes_reason ? " (" + vm.exposes_reason + ")" : "")} />
                                            : vm.exposes_virtualization ? _("yes") : _("no")}
                                    </Td>
                                    <Td dataLabel={_("Verdict")}><LevelLabel level={vm.verdict} /></Td>
                                    <Td dataLabel={_("Worst finding")}>
                                        {w ? w.level + " " + w.rule + ": " + w.message : <span className="nv-muted">{vm.error || _("none")}</span>}
                                    </Td>
                                    <Td dataLabel={_("Actions")} className="nv-vm-actions">
                                        <Flex>
                                            <ActionButton id={"expose-" + vm.name} label={_("Expose…")} action={expose} admin={admin}
                                                          onRun={a => open(cockpit.format(_("Expose virtualization to $0"), vm.name), a)} />
                                            <ActionButton id={"unexpose-" + vm.name} label={_("Unexpose…")} action={unexpose} admin={admin}
                                                          onRun={a => open(cockpit.format(_("Stop exposing virtualization to $0"), vm.name), a)} />
                                        </Flex>
                                        <ActionReasons admin={admin} items={[
                                            ...(sharedExpose ? [] : [{ label: _("Expose"), action: expose }]),
                                            ...(sharedUnexpose ? [] : [{ label: _("Unexpose"), action: unexpose }]),
                                        ]} />
                                    </Td>
                                </Tr>
                            );
                        })}
                    </Tbody>
                </Table>
            </>}
        </>
    );
};

const GuardCard = ({ status, check, admin, open }: { status: Loaded<string>; check: Loaded<CheckDoc>; admin: Admin; open: Open }) => {
    const list = check.state === "done" ? check.doc.actions : undefined;
    const install = actionOf(list, "guard-install"), uninstall = actionOf(list, "guard-uninstall");
    return (
        <>
            <Content component="p" className="nv-muted">{_("A libvirt hook that refuses to start or migrate what Red Hat says does not work.")}</Content>
            <CodeBlock><CodeBlockCode id="guard-status">
                {status.state === "loading" ? _("Running nestvirt guard status…") : status.state === "failed" ? status.message : status.doc}
            </CodeBlockCode></CodeBlock>
            <Flex className="nv-actions">
                <ActionButton id="guard-install" label={_("Install the guard…")} action={install} admin={admin}
                              onRun={a => open(_("Install the guard (a libvirt hook)"), a)} />
                <ActionButton id="guard-remove" label={_("Remove the guard…")} action={uninstall} admin={admin}
                              onRun={a => open(_("Remove the guard"), a)} />
            </Flex>
            <ActionReasons admin={admin} items={[{ label: _("Install the guard"), action: install }, { label: _("Remove the guard"), action: uninstall }]} />
        </>
    );
};

const PlanCard = () => {
    const [text, setText] = useState("");
    const [result, setResult] = useState<Loaded<PlanDoc> | null>(null);
    const judge = (t: string) => {
        setResult({ state: "loading" });
        json<PlanDoc>(["plan", "--format", "json", "--fail-on", "never", "--", "-"], { input: t })
                .then(doc => setResult({ state: "done", doc }), (e: Error) => setResult({ state: "failed", message: e.message }));
    };
    return (
        <>
            <Content component="p" className="nv-muted">
                {_("Paste or upload a topology file (man 5 nestvirt-topology); nestvirt plan judges it, without administrative access.")}
            </Content>
            <TextArea id="plan-text" aria-label={_("Topology (YAML or JSON)")} rows={10} spellCheck={false} value={text} onChange={(_e, v) => setText(v)} />
            <Flex className="nv-actions">
                <label className="pf-v6-c-button pf-m-secondary pf-m-small nv-upload">
                    {_("Upload a file…")}
                    <input type="file" id="plan-file" accept=".yaml,.yml,.json" onChange={ev => {
                        const f = ev.target.files?.[0];
                        if (!f)
                            return;
                        if (f.size > 4 << 20) {
                            setResult({ state: "failed", message: cockpit.format(_("$0 is larger than 4 MiB: not a topology file nestvirt reads"), f.name) });
                            return;
                        }
                        f.text().then(t => { setText(t); judge(t) });
                    }} />
                </label>
                <Button id="plan-run" variant="primary" size="sm" onClick={() => judge(text)}>{_("Judge")}</Button>
            </Flex>
            <div id="plan-result" data-state={result?.state || ""} aria-live="polite">
                {result?.state === "failed" && <Content component="p" className="nv-error">{result.message}</Content>}
                {result?.state === "done" && <>
                    {result.doc.error && <Content component="p" className="nv-error">{result.doc.error.message}</Content>}
                    {result.doc.topologies.map((t, i) =>
                        <section key={i} className="nv-topology">
                            <Title headingLevel="h3" size="md">{(t.name || _("topology")) + ": "}<LevelLabel level={t.verdict} /></Title>
                            {t.error && <>
                                <Content component="p" className="nv-error">{t.error.message}</Content>
                                <ul>{t.error.problems.map((p, j) =>
                                    <li key={j}>{(p.line ? cockpit.format(_("line $0"), p.line + (p.column ? ":" + p.column : "")) + ": " : "") + (p.path ? p.path + ": " : "") + p.message}</li>)}
                                </ul>
                            </>}
                            {t.chains.map((c, j) =>
                                <div key={j} className="nv-chain-result">
                                    <Content component="p" className="nv-chain">{c.path.join(" → ")} <LevelLabel level={c.verdict} /></Content>
                                    <Findings findings={c.findings.filter(f => !f.informational)} />
                                </div>)}
                        </section>)}
                </>}
            </div>
        </>
    );
};

export const App = () => {
    const address = useMemo(addressOptions, []);
    const admin = useAdmin();
    const [check, setCheck] = useState<Loaded<CheckDoc>>({ state: "loading" });
    const [vms, setVMs] = useState<Loaded<VMsDoc>>({ state: "loading" });
    const [guard, setGuard] = useState<Loaded<string>>({ state: "loading" });
    const [missing, setMissing] = useState<string | null>(null);
    // null until the shell's manifests are read: the page is not ready before
    // it knows whether to link each VM to the Virtual Machines page.
    const [machines, setMachines] = useState<boolean | null>(null);
    const [dialog, setDialog] = useState<{ title: string; action: Action } | null>(null);
    const [ready, setReady] = useState(false);

    const failed = useCallback((e: Error) => {
        if (e instanceof NotInstalled)
            setMissing(e.message);
        return { state: "failed" as const, message: e.message };
    }, []);

    const listVMs = useCallback((elevated: boolean) =>
        json<VMsDoc>(withAddress(["vms", "--format", "json", "--fail-on", "never"], address, ["--root", "--connect"]), { admin: elevated })
                .then(doc => setVMs({ state: "done", doc }), e => setVMs(failed(e))), [address, failed]);

    // Reads run as the user: nothing here asks for administrative access.
    const refresh = useCallback(() => {
        setReady(false);
        return Promise.all([
            json<CheckDoc>(withAddress(["check", "--format", "json", "--fail-on", "never"], address, ["--root"]))
                    .then(doc => setCheck({ state: "done", doc }), e => setCheck(failed(e))),
            listVMs(false),
            run(["guard", "status"]).then(r => setGuard({ state: "done", doc: (r.out + r.err).trim() }), e => setGuard(failed(e))),
        ]).then(() => setReady(true));
    }, [address, failed, listVMs]);

    useEffect(() => { refresh() }, [refresh]);
    useEffect(() => {
        // The Virtual Machines page, when the console has it: its packages as
        // the shell lists them.
        fetch("../manifests.json").then(r => r.ok ? r.json() : {}).then(m => setMachines(!!m && "machines" in m), () => setMachines(false));
    }, []);

    const open: Open = (title, action) => setDialog({ title, action });
    const root = address.find(o => o.flag === "--root"), connect = address.find(o => o.flag === "--connect");

    return (
        <Page id="nv-page" className="nv-page" data-ready={String(ready && machines !== null)} data-admin={admin || ""}>
            <PageSection className="nv-head">
                <Flex justifyContent={{ default: "justifyContentSpaceBetween" }} alignItems={{ default: "alignItemsFlexStart" }}>
                    <div>
                        <Title headingLevel="h1" size="2xl">{_("Nested virtualization")}</Title>
                        <Content component="p" className="nv-muted">
                            {_("What Red Hat documents as supported, a Technology Preview, untested or not working, judged by nestvirt on this host and its VMs.")}
                        </Content>
                    </div>
                    <Button variant="secondary" id="refresh" onClick={() => refresh()}>{_("Refresh")}</Button>
                </Flex>
                {address.length > 0 &&
                    <Alert isInline variant="info" id="address" title={_("Options from this page's address")}>
                        <ul>
                            {root && <li>{cockpit.format(_("Judging the snapshot tree $0 instead of this machine (#/?root=); enable and disable act on that tree."), root.value)}</li>}
                            {connect && <li>{cockpit.format(_("Listing the VMs of $0 (#/?connect=)."), connect.value)}</li>}
                        </ul>
                        {_("The page reads with them as you; each action shows them and asks you to confirm them before it runs anything as root.")}
                    </Alert>}
                {admin === "no" &&
                    <Alert isInline variant="info" id="admin-note" title={_("This session has no administrative access")}>
                        {_("What nestvirt reads as you is shown. Enabling or disabling nesting, exposing a VM and installing or removing the guard need administrative access.")}
                    </Alert>}
                {admin === "off" &&
                    <Alert isInline variant="info" id="admin-note" title={_("Administrative access is off")}>
                        {_("What nestvirt reads as you is shown. To change nesting, a VM or the guard, turn on administrative access in the console's top bar.")}
                    </Alert>}
                {missing && <Alert isInline variant="danger" id="missing" title={missing} />}
            </PageSection>
            <PageSection variant="secondary">
                <Card id="host-card" className="nv-card">
                    <CardTitle><Title headingLevel="h2" size="lg">{_("This host")}</Title></CardTitle>
                    <CardBody><HostCard check={check} admin={admin} open={open} /></CardBody>
                </Card>
                <Card id="vms-card" className="nv-card">
                    <CardTitle><Title headingLevel="h2" size="lg">{_("Virtual machines")}</Title></CardTitle>
                    <CardBody><VMsCard vms={vms} admin={admin} open={open} machines={!!machines} onElevate={() => listVMs(true)} /></CardBody>
                </Card>
                <Card id="guard-card" className="nv-card">
                    <CardTitle><Title headingLevel="h2" size="lg">{_("Guard")}</Title></CardTitle>
                    <CardBody><GuardCard status={guard} check={check} admin={admin} open={open} /></CardBody>
                </Card>
                <Card id="plan-card" className="nv-card">
                    <CardTitle><Title headingLevel="h2" size="lg">{_("Plan a topology")}</Title></CardTitle>
                    <CardBody><PlanCard /></CardBody>
                </Card>
            </PageSection>
            {dialog && <ActionDialog title={dialog.title} action={dialog.action} address={address}
                                     onClose={changed => { setDialog(null); if (changed) refresh() }} />}
        </Page>
    );
};
