import React from "react";
import { Button, Content, Label, List, ListItem } from "@patternfly/react-core";

import { Action, Finding, Level } from "./nestvirt";
import { Admin } from "./admin";

const _ = cockpit.gettext;

const colors: Record<Level, "green" | "blue" | "yellow" | "orange" | "orangered" | "red"> = {
    supported: "green",
    "tech-preview": "blue",
    unsupported: "yellow",
    untested: "orange",
    "not-expected-to-work": "orangered",
    "does-not-work": "red",
};

/* LevelLabel is a verdict or a finding's level, nestvirt's word for it. */
export const LevelLabel = ({ level, id }: { level: Level | null; id?: string }) =>
    <Label id={id} color={level ? colors[level] : "grey"} data-level={level || ""} className="nv-level">
        {level || _("not judged")}
    </Label>;

/* Unknown is a fact nestvirt could not read: said, never guessed. */
export const Unknown = ({ text }: { text?: string }) => <span className="nv-unknown">{text || _("unknown")}</span>;

export const FindingItem = ({ f }: { f: Finding }) =>
    <ListItem className="nv-finding" data-rule={f.rule}>
        <Content component="p" className="nv-finding__head">
            <LevelLabel level={f.level} /> <code>{f.rule}</code>
            {f.undetermined && <span className="nv-unknown"> {_("undetermined: nestvirt could not read what this rests on")}</span>}
            {f.informational && <span className="nv-muted"> {_("(information)")}</span>}
        </Content>
        <Content component="p">{f.message}</Content>
        {f.remedy && <Content component="p" className="nv-remedy"><strong>{_("Remedy:")}</strong> {f.remedy}</Content>}
        <Content component="p" className="nv-source">{_("Source:")} {f.source}</Content>
    </ListItem>;

export const Findings = ({ findings, id }: { findings: Finding[]; id?: string }) =>
    findings.length === 0
        ? <Content component="p" className="nv-muted" id={id}>{_("none")}</Content>
        : <List isPlain isBordered id={id}>{findings.map((f, i) => <FindingItem key={i} f={f} />)}</List>;

/* notAvailable is why the page will not run an action now: nestvirt's reason,
 * or this session's access; null when it can be offered. */
export function notAvailable(a: Action | undefined, admin: Admin): string | null {
    if (!a)
        return _("this nestvirt does not say whether it applies (it lists no actions): update nestvirt");
    if (a.possible === false)
        return a.why;
    if (admin === "no")
        return _("it needs administrative access, which this session does not have");
    if (admin === "off")
        return _("it needs administrative access: turn it on in the console's top bar (\"Limited access\")");
    return null;
}

/* ActionButton offers an action: enabled only when nestvirt says it applies
 * and the session can act; the primary button only then. The reason it is
 * not offered is shown beside it (ActionReasons), not only on hover. */
export const ActionButton = ({ id, label, action, admin, primary, onRun }: {
    id: string;
    label: string;
    action: Action | undefined;
    admin: Admin;
    primary?: boolean;
    onRun: (a: Action) => void;
}) => {
    const why = notAvailable(action, admin);
    return (
        <Button id={id} variant={primary && !why ? "primary" : "secondary"} size="sm" isDisabled={why !== null}
                data-possible={action?.possible === null ? "unknown" : String(why === null)}
                onClick={() => action && onRun(action)}>
            {label}
        </Button>
    );
};

export const ActionReasons = ({ items, admin }: { items: { label: string; action: Action | undefined }[]; admin: Admin }) => {
    const lines = items.flatMap(({ label, action }) => {
        const why = notAvailable(action, admin);
        if (why)
            return [<li key={label} data-for={action?.id}>{cockpit.format(_("$0: not offered: $1"), label, why)}</li>];
        if (action?.possible === null && action.why)
            return [<li key={label} data-for={action.id}>{cockpit.format(_("$0: $1"), label, action.why)}</li>];
        return [];
    });
    return lines.length ? <ul className="nv-reasons">{lines}</ul> : null;
};
