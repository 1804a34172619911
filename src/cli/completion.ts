// `aerogrid completion bash|zsh|fish`: completion scripts generated from the commands and
// options commander knows, so they never fall behind the CLI. They complete commands,
// subcommands (env set ...), options, the choices of an option (-o json|yaml), and folders
// where a command takes one.
import type { Command, Option } from 'commander';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

interface Spec {
  path: string[];
  description: string;
  options: Option[];
  subcommands: string[];
  takesDir: boolean;
}

function specs(cmd: Command, path: string[] = []): Spec[] {
  const here: Spec = {
    path,
    description: cmd.description(),
    options: [...cmd.options],
    subcommands: cmd.commands.map((c) => c.name()),
    takesDir: cmd.registeredArguments.some((a) => a.name() === 'dir'),
  };
  return [here, ...cmd.commands.flatMap((c) => specs(c, [...path, c.name()]))];
}

const words = (o: Option) => [o.short, o.long].filter((w): w is string => !!w);

function bash(root: Command): string {
  const all = specs(root);
  const globals = root.options.flatMap(words).join(' ');
  const cases = all.filter((s) => s.path.length > 0).map((s) => {
    const opts = [...s.options.flatMap(words), ...s.subcommands, '--help'].join(' ');
    const choices = s.options.filter((o) => o.argChoices).map((o) => `          ${words(o).join('|')}) COMPREPLY=($(compgen -W "${o.argChoices!.join(' ')}" -- "$cur")); return ;;`).join('\n');
    return `      "${s.path.join(' ')}")\n        case "$prev" in\n${choices}${choices ? '\n' : ''}        esac\n        COMPREPLY=($(compgen -W "${opts} ${globals}" -- "$cur"))${s.takesDir ? '\n        [[ "$cur" != -* ]] && COMPREPLY+=($(compgen -d -- "$cur"))' : ''} ;;`;
  }).join('\n');
  return `# aerogrid completion for bash: source <(aerogrid completion bash)
_aerogrid() {
  local cur prev path="" i w
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  # The command path so far: the words that name commands, not options or their values.
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    case "$w" in
      -n|--namespace|--context|--kubeconfig|--request-timeout) ((i++)) ;;
      -*) ;;
      *) case "\${path:+$path }$w" in
           ${all.filter((s) => s.path.length > 0).map((s) => `"${s.path.join(' ')}"`).join('|')}) path="\${path:+$path }$w" ;;
         esac ;;
    esac
  done
  case "$prev" in
    --kubeconfig) COMPREPLY=($(compgen -f -- "$cur")); return ;;
  esac
  case "$path" in
      "") COMPREPLY=($(compgen -W "${root.commands.map((c) => c.name()).join(' ')} ${globals} --help" -- "$cur")) ;;
${cases}
  esac
}
complete -F _aerogrid aerogrid
`;
}

function zsh(root: Command): string {
  // zsh runs the bash script through bashcompinit: one source of truth for both.
  return `#compdef aerogrid
# aerogrid completion for zsh: aerogrid completion zsh > "\${fpath[1]}/_aerogrid", or source <(aerogrid completion zsh)
autoload -U +X bashcompinit && bashcompinit
${bash(root)}`;
}

function fish(root: Command): string {
  const quote = (s: string) => `'${s.replaceAll("'", "\\'")}'`;
  const lines = ['# aerogrid completion for fish: aerogrid completion fish > ~/.config/fish/completions/aerogrid.fish', 'complete -c aerogrid -f'];
  for (const o of root.options) {
    lines.push(`complete -c aerogrid${o.short ? ` -s ${o.short.slice(1)}` : ''}${o.long ? ` -l ${o.long.slice(2)}` : ''}${o.required ? ' -r' : ''} -d ${quote(o.description)}`);
  }
  for (const s of specs(root).filter((x) => x.path.length > 0)) {
    const [first, second] = s.path;
    const condition = s.path.length === 1
      ? `__fish_use_subcommand`
      : `__fish_seen_subcommand_from ${first}; and not __fish_seen_subcommand_from ${specs(root).filter((x) => x.path.length === 2 && x.path[0] === first).map((x) => x.path[1]).join(' ')}`;
    lines.push(`complete -c aerogrid -n ${quote(condition)} -a ${second ?? first} -d ${quote(s.description)}`);
    const within = s.path.length === 1 ? `__fish_seen_subcommand_from ${first}` : `__fish_seen_subcommand_from ${first}; and __fish_seen_subcommand_from ${second}`;
    for (const o of s.options) {
      const values = o.argChoices ? ` -x -a ${quote(o.argChoices.join(' '))}` : o.required ? ' -r' : '';
      lines.push(`complete -c aerogrid -n ${quote(within)}${o.short ? ` -s ${o.short.slice(1)}` : ''}${o.long ? ` -l ${o.long.slice(2)}` : ''}${values} -d ${quote(o.description)}`);
    }
    if (s.takesDir) lines.push(`complete -c aerogrid -n ${quote(within)} -a '(__fish_complete_directories)'`);
  }
  return `${lines.join('\n')}\n`;
}

export function completion(root: Command, shell: Shell): string {
  return { bash, zsh, fish }[shell](root).trimEnd();
}
