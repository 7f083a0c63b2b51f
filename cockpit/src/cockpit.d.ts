/* The part of the console's cockpit.js (../base1/cockpit.js) this page uses.
 * Written here: Cockpit publishes no npm package of its types (its pages and
 * the starter-kit copy pkg/lib/cockpit.d.ts from the console's repository). */

declare namespace cockpit {
    interface SpawnOptions {
        err?: "out" | "ignore" | "message";
        superuser?: "require" | "try";
        environ?: string[];
    }
    interface SpawnException {
        problem: string | null;
        exit_status: number | null;
        exit_signal: number | null;
        message: string;
    }
    interface Spawn extends Promise<string> {
        input(data: string, stream?: boolean): Spawn;
        done(cb: (out: string, message?: string) => void): Spawn;
        fail(cb: (ex: SpawnException, out?: string) => void): Spawn;
    }
    function spawn(args: string[], options?: SpawnOptions): Spawn;
    function gettext(message: string): string;
    function gettext(context: string, message: string): string;
    function ngettext(singular: string, plural: string, n: number): string;
    function format(template: string, ...args: (string | number)[]): string;
    function jump(path: string, host?: string): void;
    function addEventListener(event: "locationchanged", cb: () => void): void;

    interface Location {
        path: string[];
        options: Record<string, string | string[]>;
    }
    const location: Location;

    interface DBusProxy {
        valid: boolean;
        [property: string]: unknown;
        wait(cb?: () => void): Promise<void>;
        addEventListener(event: "changed", cb: () => void): void;
        removeEventListener(event: "changed", cb: () => void): void;
    }
    interface DBusClient {
        proxy(iface: string, path: string): DBusProxy;
    }
    function dbus(name: string | null, options: { bus: "internal" | "system" | "session" }): DBusClient;

    const transport: { wait(cb: () => void): void };
}
