import React, { useEffect, useState } from "react";
import { Alert, Button, Checkbox, CodeBlock, CodeBlockCode, Content, Modal, ModalBody, ModalFooter, ModalHeader } from "@patternfly/react-core";

import { Action, quote, run } from "./nestvirt";

const _ = cockpit.gettext;

/* State is where a dialog is: confirming the page's address options, showing
 * the dry run (previewing, then ready or refused), running, done or failed.
 * The test reads it from data-state; a person from what is shown. */
type State = "confirming" | "previewing" | "ready" | "refused" | "running" | "done" | "failed";

export interface AddressOption { flag: string; value: string; words: string }

/* ActionDialog shows an action's command, nestvirt's own dry run of it, and
 * runs it only when confirmed; nestvirt's refusal is shown as it says it. The
 * page's address options (#/?root=, #/?connect=) are shown and must be
 * confirmed before the dry run, which already runs as root, uses them. A
 * closed dialog is not drawn at all: PatternFly's Modal unmounts it. */
export const ActionDialog = ({ title, action, address, onClose }: {
    title: string;
    action: Action;
    address: AddressOption[];
    onClose: (changed: boolean) => void;
}) => {
    const used = address.filter(o => action.command.includes(o.flag) && action.command.includes(o.value));
    const [confirmed, setConfirmed] = useState(used.length === 0);
    const [state, setState] = useState<State>(used.length === 0 ? "previewing" : "confirming");
    const [preview, setPreview] = useState<string | null>(null);
    const [result, setResult] = useState<string | null>(null);

    useEffect(() => {
        if (!confirmed)
            return;
        let live = true;
        setState("previewing");
        run(action.dry_run, { admin: true }).then(r => {
            if (!live)
                return;
            if (r.code === 0) {
                setPreview(r.out.trim() || _("(nothing to change)"));
                setState("ready");
            } else {
                setPreview(cockpit.format(_("nestvirt refuses (exit $0):"), r.code) + "\n" + (r.err || r.out).trim());
                setState("refused");
            }
        }, (e: Error) => {
            if (live) {
                setPreview(e.message);
                setState("refused");
            }
        });
        return () => { live = false };
    }, [confirmed, action]);

    const go = () => {
        setState("running");
        run(action.command, { admin: true }).then(r => {
            setResult((r.code === 0 ? "" : cockpit.format(_("nestvirt exited $0:"), r.code) + "\n") + (r.out + r.err).trim());
            setState(r.code === 0 ? "done" : "failed");
        }, (e: Error) => {
            setResult(e.message);
            setState("failed");
        });
    };
    const finished = state === "done" || state === "failed" || state === "refused";

    return (
        <Modal isOpen variant="medium" onClose={() => onClose(state === "done" || state === "failed")}
               aria-labelledby="nv-dialog-title" id="nv-dialog" data-state={state}>
            <ModalHeader title={title} labelId="nv-dialog-title" />
            <ModalBody>
                <Content component="p">{_("nestvirt runs, with administrative access:")}</Content>
                <CodeBlock><CodeBlockCode id="nv-dialog-command">{quote(action.command)}</CodeBlockCode></CodeBlock>
                {used.length > 0 &&
                    <Alert isInline variant="warning" title={_("This command uses options from the page's address")} id="nv-dialog-address">
                        <ul>{used.map(o => <li key={o.flag}><code>{o.flag} {o.value}</code>: {o.words}</li>)}</ul>
                        <Checkbox id="nv-dialog-confirm" isChecked={confirmed} isDisabled={confirmed}
                                  onChange={(_ev, v) => setConfirmed(v)}
                                  label={_("I gave these options: run the dry run with them")} />
                    </Alert>}
                {state === "previewing" && <Content component="p">{_("Running its dry run…")}</Content>}
                {preview !== null && <>
                    <Content component="p">{state === "refused" ? _("nestvirt's answer:") : _("What it would change (its dry run):")}</Content>
                    <CodeBlock><CodeBlockCode id="nv-dialog-preview">{preview}</CodeBlockCode></CodeBlock>
                </>}
                {result !== null && <>
                    <Content component="p">{_("Result:")}</Content>
                    <CodeBlock><CodeBlockCode id="nv-dialog-result">{result}</CodeBlockCode></CodeBlock>
                </>}
            </ModalBody>
            <ModalFooter>
                {!finished &&
                    <Button variant="primary" id="nv-dialog-run" onClick={go} isDisabled={state !== "ready"}>
                        {_("Run")}
                    </Button>}
                <Button variant="link" id="nv-dialog-close" onClick={() => onClose(state === "done" || state === "failed")}>
                    {finished ? _("Close") : _("Cancel")}
                </Button>
            </ModalFooter>
        </Modal>
    );
};
