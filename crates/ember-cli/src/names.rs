//! The command line's names for method options (`--smooth-kind`, `--noise-scale`,
//! `--quadrature`, `--target`, `--inner`) and how `--smooth-kind` and `--inner` refine a
//! method name of the registry: shared by `attribute` and `bench`.

use std::str::FromStr;

use clap::ValueEnum;
use ember::prelude::*;
use ember::{BaseMethod, MethodSpec};

/// `--smooth-kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SmoothKindName {
    /// SmoothGrad: the mean.
    Mean,
    /// SmoothGrad²: the mean of squares.
    Squares,
    /// VarGrad: the variance.
    Variance,
}

/// `--noise-scale`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NoiseScaleName {
    /// σ = level · (max − min) of each input.
    Relative,
    /// σ = level.
    Absolute,
}

/// The quadrature rules `--quadrature` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum QuadratureName {
    /// Left Riemann sum.
    RiemannLeft,
    /// Right Riemann sum.
    RiemannRight,
    /// Midpoint rule.
    RiemannMiddle,
    /// Trapezoid rule.
    RiemannTrapezoid,
    /// Gauss–Legendre.
    GaussLegendre,
}

/// `--target`: `predicted`, a class, or `file`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetArg {
    /// The model's prediction.
    Predicted,
    /// One class for every sample.
    Class(usize),
    /// Several classes for every sample, in one pass.
    Classes(Vec<usize>),
    /// `targets` `[N]` from the inputs file.
    File,
}

impl FromStr for TargetArg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "predicted" => Ok(TargetArg::Predicted),
            "file" => Ok(TargetArg::File),
            _ if s.contains(',') => s
                .split(',')
                .map(|c| c.trim().parse::<usize>())
                .collect::<Result<Vec<_>, _>>()
                .map(TargetArg::Classes)
                .map_err(|_| format!("`{s}` is not a list of class indices, e.g. `2,7`")),
            _ => s.parse().map(TargetArg::Class).map_err(|_| {
                format!(
                    "`{s}` is not a target: expected `predicted`, a class index, a list such \
                     as `2,7`, or `file`"
                )
            }),
        }
    }
}

impl From<QuadratureName> for Quadrature {
    fn from(name: QuadratureName) -> Self {
        match name {
            QuadratureName::RiemannLeft => Quadrature::RiemannLeft,
            QuadratureName::RiemannRight => Quadrature::RiemannRight,
            QuadratureName::RiemannMiddle => Quadrature::RiemannMiddle,
            QuadratureName::RiemannTrapezoid => Quadrature::RiemannTrapezoid,
            QuadratureName::GaussLegendre => Quadrature::GaussLegendre,
        }
    }
}

/// A noise tunnel's kind and inner method from `--method` and the flags that refine it:
/// `--smooth-kind` sets the kind of `smoothgrad` (and must agree with `smoothgrad-squared` or
/// `vargrad`), `--inner` sets the inner method of a tunnel over saliency (and must agree with
/// any other `KIND:INNER`). The other methods ignore both.
pub(crate) fn resolve_method(
    spec: MethodSpec,
    smooth_kind: Option<SmoothKindName>,
    inner: Option<BaseMethod>,
) -> Result<MethodSpec, String> {
    let MethodSpec::Smooth {
        kind: named_kind,
        inner: named_inner,
    } = spec
    else {
        return Ok(spec);
    };
    let kind = match smooth_kind.map(SmoothKind::from) {
        None => named_kind,
        Some(k) if named_kind == SmoothKind::Mean || k == named_kind => k,
        Some(k) => {
            return Err(format!(
                "--smooth-kind {} contradicts --method {spec}",
                k.method_name()
            ));
        }
    };
    let inner = match inner {
        None => named_inner,
        Some(i) if named_inner == BaseMethod::Saliency || i == named_inner => i,
        Some(i) => return Err(format!("--inner {i} contradicts --method {spec}")),
    };
    Ok(MethodSpec::smooth(kind, inner))
}

/// `--inner`: a method a noise tunnel can wrap.
pub(crate) fn parse_inner(name: &str) -> Result<BaseMethod, String> {
    name.parse().map_err(|e: Error| e.to_string())
}

impl From<SmoothKindName> for SmoothKind {
    fn from(name: SmoothKindName) -> Self {
        match name {
            SmoothKindName::Mean => SmoothKind::Mean,
            SmoothKindName::Squares => SmoothKind::MeanOfSquares,
            SmoothKindName::Variance => SmoothKind::Variance,
        }
    }
}
