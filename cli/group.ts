import type { Command } from 'commander';

/**
 * A top-level command group several modules add subcommands to (e.g. `datasets`: the API's
 * registry commands and the local `datasets check`). The first caller creates it.
 */
export function commandGroup(program: Command, name: string, description: string): Command {
  return program.commands.find((command) => command.name() === name) ?? program.command(name).description(description);
}
