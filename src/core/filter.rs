//! What a typed filter finds: one rule for every list that filters (the component grid, the
//! wizard's catalogue, the credentials, flows and audit lists, `:c COMPONENT`), so the same
//! words find the same things everywhere.

/// Whether an item described by `texts` matches `query`: every word of the query appears in
/// one of the texts, ignoring case ("prod rej" finds a production credential that was
/// rejected; "post sql" finds PostgreSQL). A blank query matches everything.
pub fn matches_words(query: &str, texts: &[&str]) -> bool {
    let lowered: Vec<String> = texts.iter().map(|t| t.to_lowercase()).collect();
    query
        .to_lowercase()
        .split_whitespace()
        .all(|word| lowered.iter().any(|t| t.contains(word)))
}

#[cfg(test)]
mod tests {
    use super::matches_words;

    #[test]
    fn every_word_must_appear_in_one_of_the_texts() {
        assert!(matches_words(
            "prod rej",
            &["legacy", "production", "rejected"]
        ));
        assert!(!matches_words(
            "prod rej",
            &["legacy", "production", "verified"]
        ));
        assert!(matches_words("post sql", &["PostgreSQL", "postgresql"]));
        assert!(matches_words("  ", &["anything"]));
        assert!(matches_words("STRIPE", &["Stripe"]));
        assert!(!matches_words("stripe", &[]));
    }
}
