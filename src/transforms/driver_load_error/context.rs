//! What a definition holding a driver-load-error site must spell (see
//! `Transform::site_context` and `DriverLoadError::site_context`), and what
//! in a file makes that unreliable.

use regex::bytes::Regex;

pub struct SiteContext {
    /// `driver` (every name the default `function_regex` takes spells it) or
    /// a loader's last name part.
    spelled: Regex,
    /// A stevedore callback registration (its function may have any name,
    /// anywhere) or a loader imported under another name (`import_class as
    /// ic`, then `ic(name)`).
    unreliable: Regex,
}

impl SiteContext {
    /// For the default `function_regex` and these loaders (dotted names).
    pub fn new(loaders: &[String]) -> SiteContext {
        let mut lasts: Vec<String> = loaders.iter().map(|l| regex::escape(l.rsplit('.').next().unwrap_or(l))).collect();
        lasts.sort();
        lasts.dedup();
        let spelled = format!("(?-u)driver|{}", lasts.join("|"));
        let unreliable = format!(
            "(?-u)on_(load_failure|missing_entrypoints)_callback|\\b({})([ \\t\\f\\r\\n\\\\(]|#[^\\r\\n]*)*as\\b",
            lasts.join("|")
        );
        SiteContext {
            spelled: Regex::new(&spelled).expect("escaped literals"),
            unreliable: Regex::new(&unreliable).expect("escaped literals"),
        }
    }

    /// The regex for a file's definitions, unless the file makes it unreliable.
    pub fn for_file(&self, text: &[u8]) -> Option<&Regex> {
        (!self.unreliable.is_match(text)).then_some(&self.spelled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_site_spells_driver_or_a_loader_unless_the_file_hides_them() {
        let c = SiteContext::new(&["oslo_utils.importutils.import_class".into(), "stevedore.DriverManager".into()]);
        let spelled = c.for_file(b"import sys\n").unwrap();
        for yes in [&b"def _get_driver(x):"[..], b"importutils.import_class(name)", b"driver.DriverManager('ns', name)"]
        {
            assert!(spelled.is_match(yes), "{}", String::from_utf8_lossy(yes));
        }
        assert!(!spelled.is_match(b"def main():\n    sys.exit(2)\n"));
        // A callback can have any name; an aliased loader is called by its alias.
        for hidden in [
            &b"mgr = DriverManager('ns', n, on_load_failure_callback=fail)"[..],
            b"x(on_missing_entrypoints_callback=cb)",
            b"from oslo_utils.importutils import import_class as ic\n",
            b"from oslo_utils.importutils import (import_class  # the loader\n    as ic)\n",
        ] {
            assert!(c.for_file(hidden).is_none(), "{}", String::from_utf8_lossy(hidden));
        }
        assert!(c.for_file(b"from oslo_utils.importutils import import_class\nimport_class_as = 1\n").is_some());
    }
}
