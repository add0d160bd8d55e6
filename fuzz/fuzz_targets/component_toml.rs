//! The component-definition decoder: any text parses or is refused naming the file, and every
//! field of a definition that parses judges any value without a panic.
#![no_main]

use keyway::catalog::parse_component;
use keyway::core::schema::validate_value;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse_component("fuzz.toml", text) {
        Ok(component) => {
            for field in &component.fields {
                let _ = validate_value(field, text);
            }
        }
        Err(e) => assert!(e.to_string().starts_with("fuzz.toml: ")),
    }
});
