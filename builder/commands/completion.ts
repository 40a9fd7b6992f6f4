import type { Command } from 'commander';
import { UserError } from '../../common/index.js';

/** Subcommand paths (`build`, `artifact push` …) and their long options, read from the program itself. */
function commandTable(program: Command): Map<string, string[]> {
  const table = new Map<string, string[]>();
  // The program's own options (--root) are taken after any command's name too.
  const global = program.options.map((o) => o.long).filter((l): l is string => Boolean(l) && l !== '--version');
  const walk = (cmd: Command, path: string[]): void => {
    for (const sub of cmd.commands) {
      const p = [...path, sub.name()];
      table.set(p.join(' '), [...sub.options.map((o) => o.long).filter((l): l is string => Boolean(l)), ...global]);
      walk(sub, p);
    }
  };
  walk(program, []);
  return table;
}

function bash(program: Command): string {
  const table = commandTable(program);
  const top = [...table.keys()].filter((k) => !k.includes(' '));
  const cases = [...table].map(([path, opts]) => {
    const subs = [...table.keys()].filter((k) => k.startsWith(`${path} `) && k.split(' ').length === path.split(' ').length + 1).map((k) => k.split(' ').pop());
    return `    "${path}") words="${[...subs, ...opts].join(' ')}" ;;`;
  });
  return `# bash completion for tsbuild: source <(tsbuild completion bash)
_tsbuild() {
  local cur path="" w words
  cur="\${COMP_WORDS[COMP_CWORD]}"
  for w in "\${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
    case "$w" in -*) ;; *) case " ${[...table.keys()].map((k) => k.replace(/ /g, '_')).join(' ')} " in *" \${path:+\${path}_}$w "*) path="\${path:+$path }$w" ;; esac ;; esac
  done
  case "$path" in
    "") words="${top.join(' ')} --help --version" ;;
${cases.join('\n')}
  esac
  COMPREPLY=( $(compgen -W "$words" -- "$cur") )
  [ \${#COMPREPLY[@]} -eq 0 ] && COMPREPLY=( $(compgen -f -- "$cur") )
}
complete -o filenames -F _tsbuild tsbuild
`;
}

function zsh(program: Command): string {
  return `#compdef tsbuild
# zsh completion for tsbuild: source <(tsbuild completion zsh)
autoload -U +X bashcompinit && bashcompinit
${bash(program)}`;
}

/** `tsbuild completion bash|zsh`: a completion script generated from the commands and flags tsbuild really has. */
export function registerCompletion(program: Command): void {
  program.command('completion').argument('<shell>', 'bash or zsh').description('print a shell completion script')
    .addHelpText('after', '\nExample:\n  source <(tsbuild completion bash)')
    .action((shell: string) => {
      if (shell === 'bash') process.stdout.write(bash(program));
      else if (shell === 'zsh') process.stdout.write(zsh(program));
      else throw new UserError('INVALID_ARGUMENT', `no completion for shell ${JSON.stringify(shell)}`, 'use bash or zsh');
    });
}
