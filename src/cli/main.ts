#!/usr/bin/env node
/** The `trainer` command line. */
import * as tf from '@tensorflow/tfjs';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { extractConfigFlags } from '../shared/config.js';
import { TrainerError } from '../shared/errors.js';
import { coordinatorCommand, coordinatorOptions } from './coordinator.js';
import { doctorCommand, doctorOptions } from './doctor.js';
import { evalCommand } from './eval.js';
import { fail } from './output.js';
import { predictCommand, predictOptions } from './predict.js';
import { reportCommand } from './report.js';
import { trainCommand, trainOptions } from './train.js';
import { workerCommand, workerOptions } from './worker.js';

const CONFIG_FLAG_HELP =
  'Every config key can be set with a dotted flag, e.g. --train.epochs 2 --data.path ./data --run.dir /tmp/runs; ' +
  'values are read as YAML (--data.classes "[airplane, ship]").';

export async function main(argv: string[]): Promise<void> {
  tf.enableProdMode(); // no debug checks, no console banners
  const { rest, overrides } = extractConfigFlags(argv);
  await yargs(rest)
    .scriptName('trainer')
    .usage('$0 <command> [options]\n\nData-parallel training of CNNs on CIFAR with TensorFlow.js.')
    .command(
      'train',
      'train on this machine (in-process, or --threads N)',
      (y) => trainOptions(y).epilog(CONFIG_FLAG_HELP),
      (a) => trainCommand(a, overrides),
    )
    .command(
      'eval',
      'train and validation accuracy of a saved run',
      (y) =>
        y
          .option('run', { type: 'string', demandOption: true, describe: 'run folder (holds config.json and model/)' })
          .option('backend', { type: 'string', describe: 'auto | tensorflow | webgpu | wasm | cpu' })
          .option('json', { type: 'boolean', default: false, describe: 'print one JSON object' })
          .epilog('--data.* flags override where the data is read from.'),
      (a) => evalCommand(a, overrides),
    )
    .command(
      'coordinator',
      'train with WebSocket workers: listen, wait for them, run the step loop',
      (y) => coordinatorOptions(y).epilog(CONFIG_FLAG_HELP),
      (a) => coordinatorCommand(a, overrides),
    )
    .command('worker', 'compute micro-batches for a coordinator', (y) => workerOptions(y), (a) => workerCommand(a))
    .command(
      'report <run>',
      'write RUN/report.html: curves, throughput, workers and config of a run (one offline file)',
      (y) =>
        y
          .positional('run', { type: 'string', demandOption: true, describe: 'run folder' })
          .option('quiet', { type: 'boolean', default: false, describe: 'do not print the report path' }),
      (a) => reportCommand(a),
    )
    .command('predict <images..>', 'top classes of PNG or JPEG files under a trained model', (y) => predictOptions(y), (a) => predictCommand(a))
    .command('doctor', 'which backends and GPUs this machine can compute on (--train: one epoch on each)', (y) => doctorOptions(y), (a) => doctorCommand(a))
    .demandCommand(1, 'name a command: train, eval, report, predict, coordinator, worker or doctor (see --help)')
    .strict()
    .help()
    .alias('h', 'help')
    .version(false)
    .fail((msg, err) => {
      if (err) throw err;
      throw new TrainerError('E_USAGE', `${msg} (see trainer --help)`);
    })
    .parseAsync();
}

main(hideBin(process.argv)).catch(fail);
