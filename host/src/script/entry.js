// The component's entry: exports `journey` over the script's own
// `setup`/`iteration`/`teardown`, turning an exception into the failed
// iteration's message (the SDK's contract is a `result`).
import * as script from "./script.js";
import { vu, iteration, setupData } from "./scheduler-script.js";

function run(f) {
  try {
    return f();
  } catch (e) {
    if (e instanceof Error) {
      const at = (e.stack ?? "").split("\n").find((l) => l.includes("script.js"));
      throw `${e.name}: ${e.message}${at ? ` (at ${at.trim()})` : ""}`;
    }
    throw String(e);
  }
}

export const journey = {
  setup() {
    return run(() => {
      const shared = script.setup ? script.setup() : undefined;
      return Object.entries(shared ?? {}).map(([k, v]) => [k, String(v)]);
    });
  },
  iteration() {
    run(
      () =>
        script.iteration &&
        script.iteration({ vu: vu(), iteration: iteration(), setup: setupData() }),
    );
  },
  teardown() {
    run(() => script.teardown && script.teardown());
  },
};
