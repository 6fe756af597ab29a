import type { Command } from 'commander'
import type { SetExitCode } from '../output'
import { registerBackends } from './backends'
import { registerMakeDemo } from './make-demo'
import { registerImport } from './import'
import { registerVerify } from './verify'
import { registerServe } from './serve'
import { registerInventory } from './inventory'
import { registerTrain } from './train'

/** A subcommand adds itself to the program and reports its outcome through setExitCode. */
export type RegisterCommand = (program: Command, setExitCode: SetExitCode) => void

// One line per subcommand file.
export const commands: RegisterCommand[] = [registerBackends, registerMakeDemo, registerImport, registerVerify, registerServe, registerTrain, registerInventory]
