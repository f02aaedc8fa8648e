//! Template values in shell commands (`run`, rollbacks, command-source
//! queries) are data, never shell syntax: the command is lexed at each
//! template (outside quotes, inside `'...'`, inside `"..."`) and the value
//! is quoted for that place, so it reaches the command as one literal string
//! whatever it holds. Places no quoting makes safe (backticks, heredocs,
//! `${...}`, `$((...))`, `$'...'`, comments) are refused. `{{ vars.X | raw }}`
//! opts out: the value is inserted as shell text.

mod lexer;
mod quote;
#[cfg(test)]
mod tests;

pub(crate) use lexer::contexts;
pub use quote::secret_env_name;
pub(crate) use quote::{Context, MAX_COMMAND_BYTES, Word, escape_double, expand, quote};
