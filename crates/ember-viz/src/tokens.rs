//! Text tokens highlighted by their attribution scores, as an HTML page or for a terminal.
//!
//! Each [`TokenLine`] is one method's view of one text: a label, the tokens and one score per
//! token. [`tokens_page`] stacks lines in a table (one row per method, so that methods can be
//! compared), [`tokens_terminal`] prints one line with 24-bit ANSI colours or as plain text.
//!
//! Colours come from [`ColourScale`]'s diverging blue–white–red scale ([`MapKind::Signed`]),
//! scaled per line to its largest `|score|` (no clipping), so that a token that does not matter
//! stays white whatever the method: red for positive scores, blue for negative ones. The legend
//! of a line without negative scores runs from 0. The text on each token is black or white,
//! whichever contrasts more with its background.
//!
//! WordPiece continuation tokens (`"##ing"`) are drawn joined to the token before them, without
//! a space and without the `##`, but keep their own colour. Special tokens (`[CLS]`, `[SEP]`,
//! `<s>`, `</s>`, `<pad>`, `<|endoftext|>`, …) are drawn smaller and muted, still coloured.
//!
//! ```
//! use ember_viz::{TokenLine, tokens_page, tokens_terminal};
//!
//! let line = TokenLine {
//!     label: "integrated-gradients".into(),
//!     note: Some("score 0.608".into()),
//!     tokens: ["[CLS]", "fresh", "bre", "##ad", "[SEP]"].map(String::from).to_vec(),
//!     scores: vec![0.0, 0.02, 0.236, 0.1, 0.0],
//! };
//! let html = tokens_page("Why “bread”?", "distilbert, one example", &[line.clone()])?;
//! assert!(html.contains("title=\"0.236\""));
//! assert_eq!(
//!     tokens_terminal(&line, false),
//!     "[CLS][0] fresh[+0.02] bre[+0.236]ad[+0.1] [SEP][0]"
//! );
//! # Ok::<(), ember_viz::VizError>(())
//! ```

use std::fmt::Write as _;

use image::Rgb;

use crate::error::VizError;
use crate::heatmap::{ColourScale, MapKind};
use crate::report::render::{page_end, page_start};
use crate::text::{escape_html, format_number};

/// One highlighted line: a label (a method name, e.g. `"integrated-gradients"`), the tokens,
/// one score per token, and an optional note shown under the label (e.g.
/// `"score 0.608 · baseline −0.049 · δ −1.1e-6"`).
///
/// ```
/// let line = ember_viz::TokenLine {
///     label: "saliency".into(),
///     note: None,
///     tokens: vec!["good".into(), "##ness".into()],
///     scores: vec![0.5, 0.25],
/// };
/// assert_eq!(ember_viz::tokens_terminal(&line, false), "good[+0.5]ness[+0.25]");
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TokenLine {
    /// The row's label, e.g. the method's name.
    pub label: String,
    /// An optional line of text under the label (escaped).
    pub note: Option<String>,
    /// The tokens, as the tokenizer wrote them (`"##ing"` for a WordPiece continuation).
    pub tokens: Vec<String>,
    /// One score per token.
    pub scores: Vec<f64>,
}

/// Renders token lines as one self-contained HTML page (no scripts, nothing fetched, the
/// [`report`](crate::report)'s look).
///
/// The page has the title, the subtitle (escaped text; left out when empty) and, unless
/// `lines` is empty, a table with one row per line. The first column holds the label, its
/// note and a legend: a colour bar from `−max` through `0` to `+max` (a line with a negative
/// score) or from `0` to `+max` with those numbers, where `max` is the line's largest
/// `|score|`. The
/// second holds the tokens as inline spans coloured by score (each span's `title` is its
/// score, see [`format_number`]). Rows of the same tokens wrap at the same places, so methods
/// line up token by token.
///
/// # Errors
///
/// [`VizError::TokenCount`] if a line's tokens and scores differ in number,
/// [`VizError::NonFiniteScore`] for a NaN or infinite score (both name the line and, for the
/// latter, the token).
///
/// ```
/// use ember_viz::{TokenLine, tokens_page};
///
/// let lines = [
///     TokenLine {
///         label: "gradient × input".into(),
///         note: None,
///         tokens: vec!["not".into(), "bad".into()],
///         scores: vec![0.4, -0.1],
///     },
/// ];
/// let html = tokens_page("Sentiment", "", &lines)?;
/// assert!(html.starts_with("<!doctype html>") && html.contains("gradient × input"));
/// assert!(!html.contains("<script"));
///
/// let bad = TokenLine { scores: vec![0.4], ..lines[0].clone() };
/// assert!(tokens_page("Sentiment", "", &[bad]).is_err());
/// # Ok::<(), ember_viz::VizError>(())
/// ```
pub fn tokens_page(title: &str, subtitle: &str, lines: &[TokenLine]) -> Result<String, VizError> {
    for (i, line) in lines.iter().enumerate() {
        check_line(i, line)?;
    }
    let mut html = page_start(title, subtitle, TOKENS_CSS);
    if !lines.is_empty() {
        html.push_str(
            "<table class=\"tokens\">\n<thead><tr><th scope=\"col\">method</th>\
             <th scope=\"col\">tokens</th></tr>\
             </thead>\n<tbody>\n",
        );
        for line in lines {
            render_line(&mut html, line);
        }
        html.push_str(
            "</tbody>\n</table>\n<p class=\"hint\">Red is positive, blue negative, white \
             zero; each row is scaled to its own largest |score|, so compare rankings across \
             rows, not colours. Hover over a token to see its score.</p>\n",
        );
    }
    page_end(&mut html);
    Ok(html)
}

/// Renders one line's tokens for a terminal.
///
/// With `colour`, each token gets a 24-bit ANSI background colour (`ESC[48;2;r;g;bm`) from the
/// same scale as [`tokens_page`], a black or white foreground for contrast, and a reset
/// (`ESC[0m`). Without, each token is followed by its score in brackets, signed, e.g.
/// `"bread[+0.236]"`. Tokens are separated by spaces, except WordPiece continuations
/// (`"##ad"`), which are joined to the token before without the `##`.
///
/// This never fails: a token without a score (more tokens than scores) is printed uncoloured,
/// or with `[?]`, and so is a NaN or infinite score (`[NaN]`); extra scores are ignored.
/// Control characters in tokens are replaced by `�` so that a token cannot send escape codes
/// of its own.
///
/// ```
/// use ember_viz::{TokenLine, tokens_terminal};
///
/// let line = TokenLine {
///     label: "ig".into(),
///     note: None,
///     tokens: vec!["fresh".into(), "bread".into()],
///     scores: vec![-0.05, 0.236],
/// };
/// assert_eq!(tokens_terminal(&line, false), "fresh[-0.05] bread[+0.236]");
/// let ansi = tokens_terminal(&line, true);
/// assert!(ansi.starts_with("\x1b[48;2;") && ansi.ends_with("bread\x1b[0m"));
/// ```
pub fn tokens_terminal(line: &TokenLine, colour: bool) -> String {
    let scale = LineScale::new(&line.scores);
    let mut out = String::new();
    for (i, token) in line.tokens.iter().enumerate() {
        let piece = Piece::new(token);
        if i > 0 && !piece.continuation {
            out.push(' ');
        }
        let text: String = piece
            .text
            .chars()
            .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
            .collect();
        let score = line.scores.get(i).copied();
        if colour {
            match score.filter(|s| s.is_finite()) {
                Some(s) => {
                    let Rgb([r, g, b]) = scale.colour(s);
                    let fg = if is_dark(scale.colour(s)) { 255 } else { 0 };
                    let _ = write!(
                        out,
                        "\x1b[48;2;{r};{g};{b}m\x1b[38;2;{fg};{fg};{fg}m{text}\x1b[0m"
                    );
                }
                None => out.push_str(&text),
            }
        } else {
            let shown = score.map_or_else(|| "?".to_owned(), signed);
            let _ = write!(out, "{text}[{shown}]");
        }
    }
    out
}

/// The page's styles on top of the report's.
const TOKENS_CSS: &str = "\
table.tokens{width:100%;margin-top:20px}
table.tokens th[scope=row]{font-weight:600;width:1%;white-space:nowrap;line-height:2.2}
table.tokens .note{font-weight:400;font-size:.82em;color:var(--muted);white-space:normal;line-height:1.35;width:max-content;max-width:24em;margin-bottom:4px}
td.toks{line-height:2.2}
.w{white-space:nowrap}
.t{padding:3px 4px;border-radius:4px;color:#000;box-decoration-break:clone;-webkit-box-decoration-break:clone}
.t.d{color:#fff}
.t.c{padding-left:0;border-top-left-radius:0;border-bottom-left-radius:0}
.t.j{padding-right:0;border-top-right-radius:0;border-bottom-right-radius:0}
.t.s{font-size:.7em;letter-spacing:.03em;color:rgba(0,0,0,.6);vertical-align:1px}
.t.s.d{color:rgba(255,255,255,.75)}
.legend{margin:6px 0 4px;line-height:1.3}
.bar{width:132px;height:10px;border:1px solid var(--line);border-radius:2px}
.ticks{display:flex;font-weight:400;justify-content:space-between;width:132px;font-size:.75em;color:var(--muted);font-variant-numeric:tabular-nums}
.hint{color:var(--muted);font-size:.88em;margin:8px 0 0}
";

/// Checks one line of [`tokens_page`]: as many scores as tokens, all finite.
fn check_line(line: usize, l: &TokenLine) -> Result<(), VizError> {
    if l.tokens.len() != l.scores.len() {
        return Err(VizError::TokenCount {
            line,
            label: l.label.clone(),
            tokens: l.tokens.len(),
            scores: l.scores.len(),
        });
    }
    match l.scores.iter().position(|s| !s.is_finite()) {
        Some(index) => Err(VizError::NonFiniteScore {
            line,
            label: l.label.clone(),
            index,
            token: l.tokens[index].clone(),
            value: l.scores[index],
        }),
        None => Ok(()),
    }
}

/// One table row: the label, its note and the legend, then the tokens.
fn render_line(html: &mut String, line: &TokenLine) {
    let scale = LineScale::new(&line.scores);
    let _ = write!(html, "<tr><th scope=\"row\">{}", escape_html(&line.label));
    if let Some(note) = line.note.as_deref().filter(|n| !n.is_empty()) {
        let _ = write!(html, "<div class=\"note\">{}</div>", escape_html(note));
    }
    html.push_str("<div class=\"legend\">");
    render_legend(html, &scale);
    html.push_str("</div></th><td class=\"toks\">");
    let pieces: Vec<Piece<'_>> = line.tokens.iter().map(|t| Piece::new(t)).collect();
    let mut in_word = false;
    for (i, (piece, &score)) in pieces.iter().zip(&line.scores).enumerate() {
        let joins_previous = piece.continuation && i > 0;
        if !joins_previous {
            if in_word {
                html.push_str("</span> ");
            }
            html.push_str("<span class=\"w\">");
            in_word = true;
        }
        let joins_next = pieces.get(i + 1).is_some_and(|n| n.continuation);
        let background = scale.colour(score);
        let mut class = String::from("t");
        for (on, name) in [
            (is_dark(background), " d"),
            (piece.special, " s"),
            (joins_previous, " c"),
            (joins_next, " j"),
        ] {
            if on {
                class.push_str(name);
            }
        }
        let _ = write!(
            html,
            "<span class=\"{class}\" style=\"background:{}\" title=\"{}\">{}</span>",
            hex(background),
            escape_html(&format_number(score)),
            escape_html(piece.text)
        );
    }
    if in_word {
        html.push_str("</span>");
    }
    html.push_str("</td></tr>\n");
}

/// A gradient bar from the colour at `−max` (or `0`) to `+max`, with the numbers under it.
fn render_legend(html: &mut String, scale: &LineScale) {
    let signed_scale = scale.negative;
    let from = if signed_scale { -1.0 } else { 0.0 };
    let stops: Vec<String> = (0..=8)
        .map(|k| {
            hex(scale
                .scale
                .colour((from + (1.0 - from) * f64::from(k) / 8.0) as f32))
        })
        .collect();
    let _ = write!(
        html,
        "<div class=\"bar\" style=\"background:linear-gradient(to right,{})\"></div>\
         <div class=\"ticks\">",
        stops.join(",")
    );
    let mut ticks = Vec::new();
    if signed_scale {
        ticks.push(signed(-scale.max));
    }
    ticks.push("0".to_owned());
    ticks.push(signed(scale.max));
    for tick in ticks {
        let _ = write!(
            html,
            "<span>{}</span>",
            escape_html(&tick.replace('-', "−"))
        );
    }
    html.push_str("</div>");
}

/// A line's colour scale: diverging, scaled to the largest finite `|score|`.
struct LineScale {
    /// The scale on scores divided by `max` (its limit is 1).
    scale: ColourScale,
    /// Whether a score is negative (the legend then starts at `−max`, else at 0).
    negative: bool,
    /// The largest finite `|score|` (`0` for an empty or all-zero line).
    max: f64,
}

impl LineScale {
    fn new(scores: &[f64]) -> Self {
        let finite = || scores.iter().copied().filter(|s| s.is_finite());
        let max = finite().fold(0.0_f64, |m, s| m.max(s.abs()));
        // Scores are divided by `max` before they are narrowed to f32 (so that no finite f64
        // overflows): the fitted limit of the normalised scores is 1.
        Self {
            scale: ColourScale {
                kind: MapKind::Signed,
                limit: 1.0,
            },
            negative: finite().any(|s| s < 0.0),
            max,
        }
    }

    /// The background of a finite score.
    fn colour(&self, score: f64) -> Rgb<u8> {
        let ratio = if self.max > 0.0 {
            score / self.max
        } else {
            0.0
        };
        self.scale.colour(ratio as f32)
    }
}

/// A token as drawn: its text (without `##`), and whether it continues the token before or is
/// a special token.
struct Piece<'a> {
    text: &'a str,
    continuation: bool,
    special: bool,
}

impl<'a> Piece<'a> {
    fn new(token: &'a str) -> Self {
        match token.strip_prefix("##").filter(|rest| !rest.is_empty()) {
            Some(rest) => Self {
                text: rest,
                continuation: true,
                special: false,
            },
            None => Self {
                text: token,
                continuation: false,
                special: is_special(token),
            },
        }
    }
}

/// `[CLS]`-style tokens (capitals, digits and `_` in brackets), `<s>`, `</s>`, `<pad>`,
/// `<unk>`, `<mask>`, `<cls>`, `<sep>`, `<eos>`, `<bos>` and `<|…|>`.
fn is_special(token: &str) -> bool {
    if let Some(inner) = token.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        return !inner.is_empty()
            && inner
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    }
    if let Some(inner) = token.strip_prefix("<|").and_then(|t| t.strip_suffix("|>")) {
        return !inner.is_empty();
    }
    matches!(
        token,
        "<s>" | "</s>" | "<pad>" | "<unk>" | "<mask>" | "<cls>" | "<sep>" | "<eos>" | "<bos>"
    )
}

/// `"+0.236"`, `"-0.05"`, `"0"`: [`format_number`] with a `+` for positive numbers.
fn signed(x: f64) -> String {
    if x > 0.0 {
        format!("+{}", format_number(x))
    } else {
        format_number(x)
    }
}

/// `#rrggbb`.
fn hex(Rgb([r, g, b]): Rgb<u8>) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// Whether white text contrasts more with `c` than black text does (WCAG relative luminance).
fn is_dark(Rgb(c): Rgb<u8>) -> bool {
    let linear = |v: u8| {
        let v = f64::from(v) / 255.0;
        if v <= 0.04045 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    let l = 0.2126 * linear(c[0]) + 0.7152 * linear(c[1]) + 0.0722 * linear(c[2]);
    // Contrast with white, (1 + 0.05) / (l + 0.05), against contrast with black, (l + 0.05) / 0.05.
    1.05 * 0.05 > (l + 0.05) * (l + 0.05)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(label: &str, tokens: &[&str], scores: &[f64]) -> TokenLine {
        TokenLine {
            label: label.into(),
            note: None,
            tokens: tokens.iter().map(|&t| t.to_owned()).collect(),
            scores: scores.to_vec(),
        }
    }

    /// The `<span class="t…">` elements of a page, as (class, style, title, text).
    fn spans(html: &str) -> Vec<(String, String, String, String)> {
        let mut out = Vec::new();
        let mut rest = html;
        while let Some(start) = rest.find("<span class=\"t") {
            rest = &rest[start + "<span class=\"".len()..];
            let (class, tail) = rest.split_once("\" style=\"").unwrap();
            let (style, tail) = tail.split_once("\" title=\"").unwrap();
            let (title, tail) = tail.split_once("\">").unwrap();
            let (text, tail) = tail.split_once("</span>").unwrap();
            out.push((class.into(), style.into(), title.into(), text.into()));
            rest = tail;
        }
        out
    }

    #[test]
    fn tokens_labels_and_notes_are_escaped() {
        let mut l = line(
            "<b>ig</b>",
            &["<script>", "say", "\"hi\"", "&", "it's"],
            &[0.1, 0.2, 0.3, 0.4, 0.5],
        );
        l.note = Some("<i>note</i>".into());
        let html = tokens_page("<title>", "a \"quoted\" <subtitle>", &[l]).unwrap();
        for raw in ["<script>", "\"hi\"", "<b>", "<i>", "<title><", "<subtitle>"] {
            assert!(!html.contains(raw), "{raw} left unescaped");
        }
        assert!(html.contains("&lt;script&gt;"));
        assert!(html.contains("&quot;hi&quot;"));
        assert!(html.contains("it&#39;s"));
        assert!(html.contains("&lt;b&gt;ig&lt;/b&gt;"));
        assert!(html.contains("a &quot;quoted&quot; &lt;subtitle&gt;"));
        let texts: Vec<String> = spans(&html).into_iter().map(|s| s.3).collect();
        assert_eq!(
            texts,
            [
                "&lt;script&gt;",
                "say",
                "&quot;hi&quot;",
                "&amp;",
                "it&#39;s"
            ]
        );
        assert!(!html.contains("<script") && !html.contains("url("));
    }

    #[test]
    fn white_is_zero_and_the_legend_starts_at_zero_without_negative_scores() {
        let positive = LineScale::new(&[0.0, 0.5, 2.0]);
        assert!(!positive.negative);
        assert_eq!(positive.max, 2.0);
        let mixed = LineScale::new(&[0.0, -0.5, 0.25]);
        assert!(mixed.negative);
        assert_eq!(mixed.max, 0.5);
        assert!(!LineScale::new(&[-0.0, 0.0]).negative);

        // Zero is the near-white middle of red–blue, ±max its ends, for every line.
        let white = Rgb(colorous::RED_BLUE.eval_continuous(0.5).as_array());
        assert_eq!(mixed.colour(0.0), white);
        assert_eq!(positive.colour(0.0), white);
        assert_eq!(
            mixed.colour(-0.5),
            Rgb(colorous::RED_BLUE.eval_continuous(1.0).as_array())
        );
        assert_eq!(
            mixed.colour(0.5),
            Rgb(colorous::RED_BLUE.eval_continuous(0.0).as_array())
        );
        assert_eq!(
            positive.colour(2.0),
            Rgb(colorous::RED_BLUE.eval_continuous(0.0).as_array())
        );

        // On the page: the legend has three ticks with a negative score, two without, and the
        // ends of the bar are the colours at its ends.
        let html = tokens_page(
            "t",
            "",
            &[
                line("pos", &["a", "b"], &[0.0, 2.0]),
                line("div", &["a", "b"], &[-0.5, 0.25]),
            ],
        )
        .unwrap();
        let rows: Vec<&str> = html.split("<tr><th scope=\"row\">").skip(1).collect();
        assert!(rows[0].contains("<span>0</span><span>+2</span></div>"));
        assert!(rows[1].contains("<span>−0.5</span><span>0</span><span>+0.5</span>"));
        let bar = |i: usize| hex(LineScale::new(&[0.0, 2.0]).colour(i as f64));
        assert!(rows[0].contains(&format!("linear-gradient(to right,{}", bar(0))));
        assert!(rows[0].contains(&format!("{})\"", bar(2))));
        // Dark backgrounds (the ends of red–blue) get white text, white gets black.
        let s = spans(&html);
        assert_eq!(s[0].0, "t");
        assert_eq!(s[1].0, "t d");
        assert_eq!(s[2].0, "t d");
        assert_eq!(s[3].0, "t");
        assert_eq!(s[3].2, "0.25");
    }

    #[test]
    fn wordpiece_continuations_join_the_previous_token() {
        let l = line(
            "ig",
            &["[CLS]", "bak", "##ing", "##s", "are", "##", "[SEP]"],
            &[0.0, 0.3, 0.2, 0.1, -0.1, 0.05, 0.0],
        );
        let html = tokens_page("t", "", std::slice::from_ref(&l)).unwrap();
        let s = spans(&html);
        let texts: Vec<&str> = s.iter().map(|s| s.3.as_str()).collect();
        assert_eq!(texts, ["[CLS]", "bak", "ing", "s", "are", "##", "[SEP]"]);
        // Flags other than the dark-background one ("d"), which depends on the colour.
        let flags: Vec<String> = s
            .iter()
            .map(|s| s.0.split(' ').filter(|&f| f != "t" && f != "d").collect())
            .collect();
        assert_eq!(flags, ["s", "j", "cj", "c", "", "", "s"]);
        // Each piece keeps its own colour.
        assert_ne!(s[1].1, s[2].1);
        assert_ne!(s[2].1, s[3].1);
        // One nowrap word holds the three pieces, with nothing between them.
        let word = html.split("<span class=\"w\">").nth(2).unwrap();
        assert_eq!(word.matches("<span class=\"t").count(), 3);
        assert!(!word.contains("</span> <span class=\"t"));
        assert_eq!(
            tokens_terminal(&l, false),
            "[CLS][0] bak[+0.3]ing[+0.2]s[+0.1] are[-0.1] ##[+0.05] [SEP][0]"
        );
        // A leading continuation has nothing to join.
        let lead = line("x", &["##ing", "up"], &[1.0, 1.0]);
        assert_eq!(tokens_terminal(&lead, false), "ing[+1] up[+1]");
        let html = tokens_page("t", "", &[lead]).unwrap();
        // Not joined ("j"): only the token class and the dark-background flag.
        assert_eq!(spans(&html)[0].0, "t d");
    }

    #[test]
    fn special_tokens() {
        for t in [
            "[CLS]",
            "[SEP]",
            "[PAD]",
            "[UNK]",
            "[MASK]",
            "<s>",
            "</s>",
            "<|endoftext|>",
        ] {
            assert!(is_special(t), "{t}");
        }
        for t in ["[]", "[cls]", "<script>", "cls", "[", "<||>", "##[CLS]"] {
            assert!(!Piece::new(t).special, "{t}");
        }
    }

    #[test]
    fn mismatched_lengths_and_non_finite_scores_are_errors() {
        let good = line("ok", &["a"], &[1.0]);
        let short = line("short", &["a", "b", "c"], &[1.0, 2.0]);
        let err = tokens_page("t", "", &[good.clone(), short]).unwrap_err();
        assert!(matches!(
            &err,
            VizError::TokenCount { line: 1, label, tokens: 3, scores: 2 } if label == "short"
        ));
        let msg = err.to_string();
        assert!(msg.contains("line 1") && msg.contains("`short`"), "{msg}");

        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let l = line("nan", &["a", "bread", "c"], &[0.1, bad, 0.2]);
            let err = tokens_page("t", "", &[good.clone(), good.clone(), l]).unwrap_err();
            assert!(matches!(
                &err,
                VizError::NonFiniteScore { line: 2, index: 1, token, .. } if token == "bread"
            ));
            let msg = err.to_string();
            assert!(
                msg.contains("line 2") && msg.contains("token 1") && msg.contains("`bread`"),
                "{msg}"
            );
        }
    }

    #[test]
    fn no_lines_is_a_page_with_the_title() {
        let html = tokens_page("Just a title", "", &[]).unwrap();
        assert!(html.contains("<h1>Just a title</h1>"));
        assert!(!html.contains("<table") && !html.contains("class=\"subtitle\""));
        assert!(html.trim_end().ends_with("</html>"));
    }

    #[test]
    fn terminal_plain_text_is_exact() {
        let l = line(
            "ig",
            &["[CLS]", "fresh", "bre", "##ad", "near", "[SEP]"],
            &[0.0, 0.022, 0.2364, -0.049, 0.00001, 0.0],
        );
        assert_eq!(
            tokens_terminal(&l, false),
            "[CLS][0] fresh[+0.022] bre[+0.2364]ad[-0.049] near[+1e-5] [SEP][0]"
        );
        // Missing and non-finite scores never panic.
        let odd = line("odd", &["a", "b", "c"], &[1.0, f64::NAN]);
        assert_eq!(tokens_terminal(&odd, false), "a[+1] b[NaN] c[?]");
        assert_eq!(tokens_terminal(&line("e", &[], &[]), false), "");
    }

    #[test]
    fn terminal_colours_are_24_bit_ansi_with_resets() {
        let l = line(
            "ig",
            &["bread", "##s", "stale", "\x1b[2J"],
            &[1.0, 0.0, -1.0, 0.5],
        );
        let ansi = tokens_terminal(&l, true);
        assert_eq!(ansi.matches("\x1b[48;2;").count(), 4);
        assert_eq!(ansi.matches("\x1b[0m").count(), 4);
        let Rgb([r, g, b]) = Rgb(colorous::RED_BLUE.eval_continuous(0.0).as_array());
        // +max is dark red: white text; zero is near white: black text; no space before "s".
        assert!(ansi.starts_with(&format!(
            "\x1b[48;2;{r};{g};{b}m\x1b[38;2;255;255;255mbread\x1b[0m\x1b[48;2;"
        )));
        assert!(ansi.contains("\x1b[38;2;0;0;0ms\x1b[0m "));
        // The token's own escape code is neutralised.
        assert!(!ansi.contains("\x1b[2J") && ansi.contains("\u{FFFD}[2J"));
        // No colour without scores.
        assert_eq!(tokens_terminal(&line("x", &["a"], &[f64::NAN]), true), "a");
    }

    #[test]
    fn huge_and_tiny_scores_keep_their_colours() {
        let big = LineScale::new(&[1e300, -1e300, 0.0]);
        assert_eq!(big.colour(1e300), LineScale::new(&[1.0, -1.0]).colour(1.0));
        let tiny = LineScale::new(&[1e-30, 0.0]);
        assert_eq!(tiny.colour(1e-30), LineScale::new(&[1.0]).colour(1.0));
        let zero = LineScale::new(&[0.0, 0.0]);
        assert_eq!(zero.colour(0.0), zero.scale.zero_colour());
    }
}
