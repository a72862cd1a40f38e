//! The registry's own tests: names, signs, settings.

use super::*;
use crate::SmoothKind;

#[test]
fn every_name_round_trips_and_aliases_read_as_their_method() {
    for spec in MethodSpec::ALL {
        assert_eq!(spec.name().parse::<MethodSpec>().unwrap(), spec);
    }
    for inner in BaseMethod::ALL {
        for kind in [
            SmoothKind::Mean,
            SmoothKind::MeanOfSquares,
            SmoothKind::Variance,
        ] {
            let spec = MethodSpec::smooth(kind, inner);
            assert_eq!(spec.name().parse::<MethodSpec>().unwrap(), spec);
        }
    }
    for layer in LayerMethod::ALL {
        let spec = MethodSpec::Layer(layer);
        assert_eq!(spec.name().parse::<MethodSpec>().unwrap(), spec);
    }
    let read = |s: &str| s.parse::<MethodSpec>().unwrap().name();
    assert_eq!(read("GradCAM"), "grad-cam");
    assert_eq!(read("layer_ig"), "layer-integrated-gradients");
    assert_eq!(read("IG"), "integrated-gradients");
    assert_eq!(read("smoothgrad_sq"), "smoothgrad-squared");
    assert_eq!(read("InputXGradient"), "input-x-gradient");
    assert_eq!(read("smoothgrad:saliency"), "smoothgrad");
    assert_eq!(read("vargrad:ig"), "vargrad:integrated-gradients");
    for bad in [
        "",
        "deeplift",
        "smoothgrad:vargrad",
        "saliency:ig",
        "vargrad:grad-cam",
    ] {
        assert!(matches!(
            bad.parse::<MethodSpec>(),
            Err(Error::InvalidConfig { name: "method", .. })
        ));
    }
}

#[test]
fn signs_follow_the_statistic_and_the_inner_method() {
    let signed: Vec<bool> = MethodSpec::ALL.iter().map(|m| m.signed()).collect();
    assert_eq!(signed, [true, false, true, true, true, false, false]);
    assert!(!MethodSpec::smooth(SmoothKind::Mean, BaseMethod::SaliencyAbs).signed());
}

#[test]
fn bad_settings_are_typed_errors_from_build() {
    let zero_steps = MethodSettings::new().with_steps(0);
    assert!(matches!(
        MethodSpec::Base(BaseMethod::IntegratedGradients).build(&zero_steps),
        Err(Error::InvalidConfig { .. })
    ));
    assert!(
        MethodSpec::Base(BaseMethod::Saliency)
            .build(&zero_steps)
            .is_ok()
    );
    let zero_samples = MethodSettings::new().with_samples(0);
    assert!(matches!(
        MethodSpec::ALL[4].build(&zero_samples),
        Err(Error::InvalidConfig { .. })
    ));
}

#[test]
fn names_and_aliases_are_normalised_and_name_one_method_each() {
    let mut seen = std::collections::BTreeMap::new();
    for m in methods() {
        for name in std::iter::once(m.name).chain(m.aliases.iter().copied()) {
            assert_eq!(normalise(name), name, "{name} is not in normal form");
            if let Some(other) = seen.insert(name, m.name) {
                panic!("{name} names both {other} and {}", m.name);
            }
        }
        assert!(!m.summary.is_empty() && !m.cost.is_empty(), "{}", m.name);
        assert_eq!(find(m.name).map(|f| f.name), Some(m.name));
    }
    assert_eq!(find("LayerGradCam").map(|m| m.name), Some("grad-cam"));
    assert_eq!(find("Rollout").map(|m| m.name), Some("attention-rollout"));
    assert!(find("deeplift").is_none());
}

#[test]
fn the_list_the_table_and_the_errors_come_from_the_entries() {
    let table = markdown_table();
    let names = method_names();
    for m in methods() {
        assert!(table.contains(&format!("| `{}` |", m.name)), "{}", m.name);
        if m.family != Family::Attention {
            assert!(names.contains(m.name), "{} missing from {names}", m.name);
        }
    }
    // One header, one rule, one row per method.
    assert_eq!(table.lines().count(), methods().len() + 2);
    let Err(Error::InvalidConfig { expected, .. }) = "deeplift".parse::<MethodSpec>() else {
        panic!("deeplift is not a method yet");
    };
    assert_eq!(expected, names);
    #[allow(deprecated)]
    let old = METHOD_NAMES;
    assert_eq!(
        old, names,
        "the deprecated constant says what the entries say"
    );
}

#[test]
fn each_entry_builds_its_own_variant_with_its_settings() {
    let baselines = ember_core::BaselineSet::new(vec![2, 4], vec![0.0; 8]).unwrap();
    let settings = MethodSettings::new()
        .with_steps(7)
        .with_max_rows(Some(3))
        .with_baselines(Some(baselines));
    for base in BaseMethod::ALL {
        let built = base.build(&settings).unwrap();
        let variant = format!("{built:?}");
        assert!(
            variant.starts_with(&format!("{base:?}(")),
            "{base:?} built {variant}"
        );
        let rows = match base {
            BaseMethod::IntegratedGradients => 7,
            BaseMethod::GradientShap => 5,
            BaseMethod::ExpectedGradients => 200,
            BaseMethod::BlurIg => 100,
            BaseMethod::GuidedIg => 200,
            _ => 1,
        };
        assert_eq!(base.rows_per_sample(&settings, &[1, 4]), rows);
    }
    for layer in LayerMethod::ALL {
        let built = layer.build(&settings).unwrap();
        assert!(format!("{built:?}").starts_with(&format!("{layer:?}(")));
    }
    let tunnel = MethodSpec::smooth(SmoothKind::Variance, BaseMethod::IntegratedGradients);
    assert_eq!(
        tunnel.rows_per_sample(&settings.clone().with_samples(4), &[1, 4]),
        28
    );
}
