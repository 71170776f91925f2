// The import's preview worker: runs the app's own wasm (the module the page
// sends first, already compiled) and hands every later message to Rust
// (app/src/import/worker.rs). Messages that arrive while the module is
// being instantiated are queued and handed over too.
import init, { import_worker } from "/pkg/roster.js";

const queued = [];
self.onmessage = async (first) => {
  self.onmessage = (e) => queued.push(e.data);
  try {
    await init({ module_or_path: first.data.module });
  } catch (e) {
    self.postMessage({ json: JSON.stringify({ Failed: "The preview worker could not start: " + e }) });
    return;
  }
  import_worker(queued);
};
