import { VERSION } from './version';
import { Output } from './ui/output';

export async function main(argv: string[]): Promise<number> {
  const out = new Output();
  if (argv.includes('--version')) {
    out.print(VERSION);
    return 0;
  }
  out.info('ankra: not implemented yet');
  return 1;
}
