#!/usr/bin/env node
/** The `trainer` command line. */
import * as tf from '@tensorflow/tfjs';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { extractConfigFlags } from '../shared/config.js';
import { TrainerError } from '../shared/errors.js';
import { evalCommand } from './eval.js';
import { fail } from './output.js';
import { trainCommand, trainOptions } from './train.js';

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
          .option('backend', { type: 'string', describe: 'auto | tensorflow | wasm | cpu' })
          .option('json', { type: 'boolean', default: false, describe: 'print one JSON object' })
          .epilog('--data.* flags override where the data is read from.'),
      (a) => evalCommand(a, overrides),
    )
    .demandCommand(1, 'name a command: train or eval (see --help)')
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
