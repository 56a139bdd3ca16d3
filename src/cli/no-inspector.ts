/**
 * Imported first by the command line, before anything that takes time to load: a SIGUSR1 would
 * otherwise start Node's inspector on 127.0.0.1:9229 (Node's default action for it), where any
 * user of the machine can run code in the process and read TRAINER_TOKEN. `scancel -s USR1 JOB`
 * (USR1 is the batch script's "time limit near") left a debugger open in every worker. With a
 * listener of our own Node does not start it; `trainer train` and `coordinator` add theirs (a stop
 * at the next step), the others ignore it. One that comes before theirs (the process still
 * loading: the batch script passes a cancel on as SIGUSR1) is remembered for them. Left: Node's
 * own start, the first ~0.1 s of a process, before any of our code runs (Node 22.14 has
 * --disable-sigusr1; Node 20 has not).
 */
let early = false;
const remember = () => {
  early = true;
};
process.on('SIGUSR1', remember);

/** Whether a SIGUSR1 came before anyone asked; from now on the caller's own listener answers it. */
export function takeEarlyUsr1(): boolean {
  process.off('SIGUSR1', remember);
  if (process.listenerCount('SIGUSR1') === 0) process.on('SIGUSR1', () => {}); // never none: Node would start the inspector again
  const was = early;
  early = false;
  return was;
}
