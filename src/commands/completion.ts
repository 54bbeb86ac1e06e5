/** `ankra completion bash|zsh|fish`: a completion script generated from the command tree. */
import { arg, defineCommand } from '../cli/spec';
import { SHELLS, completionNodes } from '../completion/rules';

export default defineCommand({
  path: ['completion'],
  summary: 'print a shell completion script for bash, zsh or fish',
  args: { shell: arg.required('shell', 'bash, zsh or fish', { choices: SHELLS }) },
  flags: {},
  examples: ['source <(ankra completion bash)', 'ankra completion zsh > "${fpath[1]}/_ankra"', 'ankra completion fish > ~/.config/fish/completions/ankra.fish'],
  async run(opts, deps) {
    const tree = completionNodes(deps.tree().nodes());
    const shell = opts.shell;
    const script =
      shell === 'bash' ? (await import('../completion/bash')).bashScript(tree) : shell === 'zsh' ? (await import('../completion/zsh')).zshScript(tree) : (await import('../completion/fish')).fishScript(tree);
    deps.out.printRaw(script);
    return 0;
  },
});
