/**
 * Imported first by the command line, before anything that takes time to load: a SIGUSR1 would
 * otherwise start Node's inspector on 127.0.0.1:9229 (Node's default action for it), where any
 * user of the machine can run code in the process and read TRAINER_TOKEN. `scancel -s USR1 JOB`
 * (USR1 is the batch script's "time limit near") left a debugger open in every worker. With a
 * listener of our own Node does not start it; `trainer train` and `coordinator` add theirs (a stop
 * at the next step), the others ignore it.
 */
process.on('SIGUSR1', () => {});
