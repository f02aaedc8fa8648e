//! An error and its causes as one line: each cause is added only if the
//! text so far does not already say it (many errors repeat their source in
//! their own message), joined with `: `.

use std::error::Error;

/// `error: cause: cause's cause`, leaving out a cause the text already says.
pub fn error_chain(error: &dyn Error) -> String {
    join_causes(error.to_string(), error.source())
}

/// The causes of `error` without its own text (for an error whose own text
/// must not be shown, such as one that names a URL with a secret in it);
/// empty if it has none.
pub fn error_causes(error: &dyn Error) -> String {
    join_causes(String::new(), error.source())
}

fn join_causes(mut text: String, mut source: Option<&dyn Error>) -> String {
    while let Some(cause) = source {
        let said = cause.to_string();
        if !text.contains(&said) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&said);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("{text}")]
    struct Layer {
        text: &'static str,
        #[source]
        source: Option<Box<Layer>>,
    }

    fn chain(texts: &[&'static str]) -> Layer {
        texts
            .iter()
            .rev()
            .fold(None, |source, text| {
                Some(Layer {
                    text,
                    source: source.map(Box::new),
                })
            })
            .expect("at least one layer")
    }

    #[test]
    fn causes_are_joined_once_each() {
        let e = chain(&[
            "failed to read `a.toml`",
            "permission denied",
            "os error 13",
        ]);
        assert_eq!(
            error_chain(&e),
            "failed to read `a.toml`: permission denied: os error 13"
        );
        // A cause the message already quotes is not said twice.
        let e = chain(&[
            "failed to read `a.toml`: permission denied",
            "permission denied",
        ]);
        assert_eq!(
            error_chain(&e),
            "failed to read `a.toml`: permission denied"
        );
    }

    #[test]
    fn causes_alone_leave_the_error_out() {
        let e = chain(&[
            "GET https://x/?key=s3cret",
            "connection refused",
            "os error 111",
        ]);
        assert_eq!(error_causes(&e), "connection refused: os error 111");
        assert_eq!(error_causes(&chain(&["alone"])), "");
    }
}
