/** `ankra help [COMMAND…|TOPIC]`: help for any command, or a topic (options, environment, exit codes). */
import { arg, defineCommand } from '../cli/spec';
import { TOPICS, topicText, type Topic } from '../cli/topics';
import { UsageError } from '../errors';

export default defineCommand({
  path: ['help'],
  summary: 'show help for a command, or a topic: options, environment, exit-codes',
  args: { words: arg.rest('command-or-topic', `a command (e.g. cluster access grant) or ${TOPICS.join(', ')}`) },
  flags: {},
  examples: ['ankra help cluster access grant', 'ankra help environment', 'ankra help exit-codes'],
  async run(opts, deps) {
    const words = opts.words;
    if (words.length === 1 && (TOPICS as readonly string[]).includes(words[0] as string)) {
      deps.out.printRaw(topicText(words[0] as Topic));
      return 0;
    }
    const text = deps.tree().help(words);
    if (text === undefined) {
      throw new UsageError(`no help for ${JSON.stringify(words.join(' '))}: not a command or topic`, { hint: `see \`ankra help\` (topics: ${TOPICS.join(', ')})` });
    }
    deps.out.printRaw(text.trimEnd());
    return 0;
  },
});
