// Preloaded (`node --require`) into each service by `pnpm bench e2e` when E2E_PROFILE=1 (the
// E2E_PROF_FILE variable names the output). The first SIGWINCH starts V8's sampling CPU profiler
// in-process, the second stops it and writes the .cpuprofile (then `<file>.done`), so a profile
// covers exactly the measured run — not the start-up, and not Nest's signal-driven shutdown,
// which re-raises SIGTERM and would lose a `--cpu-prof` profile. SIGWINCH because Nest's
// enableShutdownHooks() shuts down on SIGUSR2 (and on most others), and a daemon has no terminal.
'use strict';
const file = process.env.E2E_PROF_FILE;
if (file) {
  const fs = require('node:fs');
  const inspector = require('node:inspector');
  const session = new inspector.Session();
  session.connect();
  let running = false;
  process.on('SIGWINCH', () => {
    if (!running) {
      running = true;
      session.post('Profiler.enable', () =>
        session.post('Profiler.setSamplingInterval', { interval: 1000 }, () =>
          session.post('Profiler.start'),
        ),
      );
      return;
    }
    running = false;
    session.post('Profiler.stop', (error, result) => {
      if (!error) fs.writeFileSync(file, JSON.stringify(result.profile));
      fs.writeFileSync(`${file}.done`, error ? String(error) : '');
    });
  });
}
