import React from "react";
import { createRoot } from "react-dom/client";

import "@patternfly/react-core/dist/styles/base.css";
import "./nestvirt.css";

import { App } from "./app";
import { followTheme } from "./theme";

followTheme();
document.addEventListener("DOMContentLoaded", () => {
    cockpit.transport.wait(() => {
        createRoot(document.getElementById("app")!).render(<App />);
    });
});
