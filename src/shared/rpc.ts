/**
 * The shape of the API contract: a method is a pair of runtime schemas (request,
 * response); an event stream is one payload schema. Everything that crosses a
 * process or network boundary is declared with these, once, in ./contract.
 */
import type { z } from 'zod'

export interface MethodSpec<I extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType> {
  input: I
  output: O
  /** One line for docs and error messages. */
  summary: string
}

export function method<I extends z.ZodType, O extends z.ZodType>(
  summary: string,
  input: I,
  output: O
): MethodSpec<I, O> {
  return { input, output, summary }
}

/** The error every transport returns for a failed call: a message a user can act on. */
export interface RemoteError {
  message: string
  /** Where the failure came from when it is about a file, a sample or a field. */
  detail?: string
}
