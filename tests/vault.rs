//! The vault through the library and child processes: round trips, damage, crash safety.

mod support;

mod vault {
    mod concurrency;
    mod crash;
    mod damage;
    mod store;
    mod team;
}
