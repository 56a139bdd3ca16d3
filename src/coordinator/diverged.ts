/**
 * How a run that diverged (E_DIVERGED) is told, in one place: the error itself and every later
 * line about its folder (a new run there, a resume, a new run of its name) name the same keys.
 */
import type { Config } from '../shared/config.js';
import { TrainerError } from '../shared/errors.js';

/** What to lower: `train.weightDecay` beside train.lr when it is set, as a huge one diverges as surely (the hint named train.lr alone). */
export function lowerToConverge(train: Pick<Config['train'], 'weightDecay'>): string {
  return train.weightDecay > 0 ? 'train.lr or train.weightDecay' : 'train.lr';
}

/** E_DIVERGED for `what` (the step and what became non-finite). */
export function divergedError(what: string, train: Config['train']): TrainerError {
  return new TrainerError(
    'E_DIVERGED',
    `${what}: the run diverged and stops; nothing of this step is applied or saved, the last checkpoint stays as it was (lower ${lowerToConverge(train)}?)`,
  );
}

/** "a run that diverged at step N (E_DIVERGED)", as every line about a diverged run's folder names it (`message`: its diverged.txt). */
export function divergedRun(message: string): string {
  return `a run that diverged${atStep(message)} (E_DIVERGED)`;
}

/** ` at step N` for the step a diverged run's message (its diverged.txt) names; '' when it names none. */
export function atStep(message: string): string {
  const step = /\bstep (\d+)\b/.exec(message)?.[1];
  return step === undefined ? '' : ` at step ${step}`;
}
