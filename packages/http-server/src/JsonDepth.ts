/**
 * How deeply a JSON text nests. Request bodies are refused above a fixed depth before any schema
 * sees them: a schema refusing a value formats the value into its message, recursively, and a
 * value nested thousands of levels deep overflows the stack there.
 */

/** The deepest nesting of arrays and objects a request body may have. */
export const MAX_DEPTH = 64

/** Whether the JSON text nests arrays and objects more than `max` levels deep (strings are skipped). */
export const exceeds = (text: string, max: number = MAX_DEPTH): boolean => {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 92) i++
      else if (c === 34) inString = false
    } else if (c === 34) inString = true
    else if (c === 91 || c === 123) {
      if (++depth > max) return true
    } else if (c === 93 || c === 125) depth--
  }
  return false
}

/** The refusal's message. */
export const message = `the body is nested more than ${MAX_DEPTH} levels deep`
