//! Text for HTML and SVG: escaping and number formatting.

/// Escapes `&`, `<`, `>`, `"` and `'` so that any string is safe as HTML or XML text or as
/// a quoted attribute value.
///
/// ```
/// assert_eq!(
///     ember_viz::escape_html(r#"<a href="x">Tom & Jerry's</a>"#),
///     "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;"
/// );
/// ```
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Formats a number for people: 4 significant digits without trailing zeros, scientific
/// notation below `1e-3` and from `1e6` in magnitude, `"0"` for zero, and `"NaN"`, `"inf"`,
/// `"-inf"` for the non-finite.
///
/// ```
/// use ember_viz::format_number;
/// assert_eq!(format_number(0.123456), "0.1235");
/// assert_eq!(format_number(12.5), "12.5");
/// assert_eq!(format_number(-3.0), "-3");
/// assert_eq!(format_number(0.0000123456), "1.235e-5");
/// assert_eq!(format_number(2.0e7), "2e7");
/// ```
pub fn format_number(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    if x == 0.0 {
        return "0".into();
    }
    let exponent = x.abs().log10().floor() as i32;
    if !(-3..6).contains(&exponent) {
        let s = format!("{x:.3e}");
        return match s.split_once('e') {
            Some((mantissa, exp)) => format!("{}e{exp}", trim_zeros(mantissa)),
            None => s,
        };
    }
    let decimals = (3 - exponent).max(0) as usize;
    let s = format!("{x:.decimals$}");
    let s = trim_zeros(&s);
    if s == "-0" { "0".into() } else { s.into() }
}

/// Drops trailing zeros after a decimal point, and the point itself if nothing is left.
fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_every_special_character() {
        let raw = r#"<script>alert(1)</script> "&'"#;
        let escaped = escape_html(raw);
        assert_eq!(
            escaped,
            "&lt;script&gt;alert(1)&lt;/script&gt; &quot;&amp;&#39;"
        );
        for c in ['<', '>', '"', '\''] {
            assert!(!escaped.contains(c), "{c} left in {escaped}");
        }
        assert_eq!(escape_html("plain ÿ text"), "plain ÿ text");
    }

    #[test]
    fn formats_numbers_with_four_significant_digits() {
        let cases = [
            (1.0, "1"),
            (0.5, "0.5"),
            (0.123456, "0.1235"),
            (-0.98765, "-0.9877"),
            (12.345678, "12.35"),
            (1234.5678, "1235"),
            (123456.7, "123457"),
            (0.001, "0.001"),
            (0.00099999, "1e-3"),
            (0.000123456, "1.235e-4"),
            (1.5e-7, "1.5e-7"),
            (-2.5e-12, "-2.5e-12"),
            (1.0e6, "1e6"),
            (0.0, "0"),
            (-0.0, "0"),
            (-0.00001, "-1e-5"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-inf"),
        ];
        for (x, want) in cases {
            assert_eq!(format_number(x), want, "formatting {x}");
        }
    }
}
