/** Docker-style random container names: adjective_surname. */
import { randomInt } from 'node:crypto';

const adjectives = [
  'admiring', 'brave', 'clever', 'dazzling', 'eager', 'focused', 'gallant', 'happy', 'keen', 'lucid',
  'modest', 'nifty', 'optimistic', 'peaceful', 'quirky', 'relaxed', 'serene', 'tender', 'upbeat', 'vibrant',
  'wizardly', 'zealous', 'bold', 'calm', 'distracted', 'elegant', 'festive', 'gracious', 'hopeful', 'jolly',
];
const surnames = [
  'hopper', 'lovelace', 'turing', 'curie', 'noether', 'ritchie', 'thompson', 'torvalds', 'knuth', 'dijkstra',
  'hamilton', 'lamport', 'liskov', 'meitner', 'pike', 'shannon', 'tesla', 'wozniak', 'yalow', 'kepler',
  'babbage', 'bell', 'carson', 'darwin', 'euler', 'feynman', 'galileo', 'hawking', 'johnson', 'kalam',
];

export function randomName(): string {
  return `${adjectives[randomInt(adjectives.length)]}_${surnames[randomInt(surnames.length)]}`;
}
