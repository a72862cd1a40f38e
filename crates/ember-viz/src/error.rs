//! The error type of the visualisation crate.

/// Everything that can go wrong when rendering a map, a grid, a chart or a report.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VizError {
    /// A flat buffer does not hold `height × width` values.
    #[error(
        "{what} has {got} values but the map is {height}×{width} (expected {expected} = height × width)"
    )]
    ShapeMismatch {
        /// Which buffer (`"values"`, `"input"`).
        what: &'static str,
        /// `height × width`.
        expected: usize,
        /// The buffer's length.
        got: usize,
        /// The map's height.
        height: usize,
        /// The map's width.
        width: usize,
    },

    /// A map with no pixels.
    #[error("the map is {height}×{width}: expected a height and a width of at least 1")]
    EmptyMap {
        /// The map's height.
        height: usize,
        /// The map's width.
        width: usize,
    },

    /// A NaN or infinite value where a finite number is needed.
    #[error("{what}[{index}] is {value}: expected a finite number")]
    NonFinite {
        /// Which buffer (`"values"`, `"input"`, `"bar values"`).
        what: &'static str,
        /// The position of the first non-finite value.
        index: usize,
        /// The value itself.
        value: f64,
    },

    /// An option out of its range.
    #[error("{name} = {value} is out of range: expected {expected}")]
    InvalidOption {
        /// The option's name.
        name: &'static str,
        /// The value given, as text.
        value: String,
        /// The accepted range.
        expected: &'static str,
    },

    /// The output image would be larger than an image can be.
    #[error(
        "a {height}×{width} map scaled by {scale} is too large: expected each side × scale to fit in a u32 and at most 2^28 pixels in all"
    )]
    TooLarge {
        /// The map's height.
        height: usize,
        /// The map's width.
        width: usize,
        /// The scale asked for.
        scale: u32,
    },

    /// A grid with no cells.
    #[error("the grid has no cells: expected at least one row with at least one image")]
    EmptyGrid,

    /// A grid row whose length differs from the first row's.
    #[error(
        "grid row {row} has {got} images but row 0 has {expected}: expected every row to have the same number of columns"
    )]
    RaggedGrid {
        /// The row.
        row: usize,
        /// The first row's length.
        expected: usize,
        /// This row's length.
        got: usize,
    },

    /// A grid cell whose size differs from the first cell's.
    #[error(
        "grid cell (row {row}, column {column}) is {got_width}×{got_height} px but cell (0, 0) is {expected_width}×{expected_height} px: expected all cells to have the same size"
    )]
    CellSize {
        /// The cell's row.
        row: usize,
        /// The cell's column.
        column: usize,
        /// The first cell's width.
        expected_width: u32,
        /// The first cell's height.
        expected_height: u32,
        /// This cell's width.
        got_width: u32,
        /// This cell's height.
        got_height: u32,
    },

    /// Two parallel lists of different lengths.
    #[error(
        "{what}: {left} has {left_len} entries but {right} has {right_len}: expected the same number"
    )]
    LengthMismatch {
        /// What was being built.
        what: &'static str,
        /// The first list's name.
        left: &'static str,
        /// The first list's length.
        left_len: usize,
        /// The second list's name.
        right: &'static str,
        /// The second list's length.
        right_len: usize,
    },

    /// A metric table row with a different number of values than there are columns.
    #[error(
        "metric row `{method}` has {got} values but the table has {expected} columns: expected one value (or None) per column"
    )]
    MetricRowLength {
        /// The row's method.
        method: String,
        /// The number of columns.
        expected: usize,
        /// The row's number of values.
        got: usize,
    },

    /// A token line whose tokens and scores differ in number.
    #[error(
        "token line {line} (`{label}`) has {tokens} tokens but {scores} scores: expected one score per token"
    )]
    TokenCount {
        /// The line's position in the list.
        line: usize,
        /// The line's label.
        label: String,
        /// The number of tokens.
        tokens: usize,
        /// The number of scores.
        scores: usize,
    },

    /// A NaN or infinite token score.
    #[error(
        "token line {line} (`{label}`): the score of token {index} (`{token}`) is {value}: expected a finite number"
    )]
    NonFiniteScore {
        /// The line's position in the list.
        line: usize,
        /// The line's label.
        label: String,
        /// The token's position in the line.
        index: usize,
        /// The token itself.
        token: String,
        /// The score.
        value: f64,
    },

    /// PNG encoding failed.
    #[error("cannot encode PNG: {reason}")]
    Encode {
        /// Why.
        reason: String,
    },

    /// Writing a file failed.
    #[error("cannot write {path}: {reason}")]
    Write {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}
