//! The path methods in f64 on every backend that has it, against the references to rounding:
//! the device blur against scipy's `gaussian_filter`, Blur IG and Guided IG against PAIR
//! `saliency` 0.2.1 on the zoo's digits CNN (in torch.float64; fixtures written by
//! `fixtures/make_path_fixtures.py`), and Guided IG with `max_dist = 0` against left-Riemann
//! Integrated Gradients. Guided IG's selections are discontinuous in the gradient, so it is
//! compared in f64, where no selection of these inputs is a near tie.

mod common;

use common::{fixture, input, read};
use ember::backend::Precision;
use ember::prelude::*;
use safetensors::SafeTensors;

backend_tests!(Precision::F64;
    the_device_blur_is_scipys_gaussian_filter,
    blur_ig_matches_pair_to_rounding,
    guided_ig_matches_pair_to_rounding,
    guided_ig_without_freedom_is_left_riemann_integrated_gradients,
);

fn file() -> Vec<u8> {
    fixture("path.safetensors")
}

fn the_device_blur_is_scipys_gaussian_filter(device: &Device) {
    let bytes = file();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let image: Tensor<4> = input(&file, "blur.image", device);
    let sigmas = read(&file, "blur.sigmas").0;
    let expected = read(&file, "blur.expected").0;
    let per = image.dims().iter().product::<usize>();
    for (i, &sigma) in sigmas.iter().enumerate() {
        let got = common::host(&ember::blur_ig::gaussian_blur(image.clone(), sigma).unwrap());
        let want = &expected[i * per..(i + 1) * per];
        common::assert_close(&got, want, 1e-12, &format!("σ = {sigma}"));
    }
}

fn blur_ig_matches_pair_to_rounding(device: &Device) {
    let bytes = file();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let model = common::zoo_cnn(device);
    let x: Tensor<4> = input(&file, "inputs", device);
    for (max_sigma, steps, sqrt, name) in [
        (4.0, 20, false, "blur_ig.small"),
        (4.0, 20, true, "blur_ig.small_sqrt"),
        (50.0, 100, false, "blur_ig.default"),
    ] {
        let out = BlurIgConfig::new()
            .with_max_sigma(max_sigma)
            .with_steps(steps)
            .with_sqrt(sqrt)
            .init()
            .unwrap()
            .attribute(&model, x.clone(), common::classes(&file, "targets"))
            .unwrap();
        common::assert_close(&common::host(&out.values), &read(&file, name).0, 1e-9, name);
    }
}

fn guided_ig_matches_pair_to_rounding(device: &Device) {
    let bytes = file();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let model = common::zoo_cnn(device);
    let x: Tensor<4> = input(&file, "inputs", device);
    for (steps, fraction, max_dist, name) in [
        (200, 0.25, 0.02, "guided_ig.default"),
        (30, 0.1, 0.1, "guided_ig.wide"),
        (30, 0.25, 0.0, "guided_ig.zero"),
    ] {
        let out = GuidedIgConfig::new()
            .with_steps(steps)
            .with_fraction(fraction)
            .with_max_dist(max_dist)
            .init()
            .unwrap()
            .attribute(&model, x.clone(), common::classes(&file, "targets"))
            .unwrap();
        common::assert_close(&common::host(&out.values), &read(&file, name).0, 1e-9, name);
        assert_eq!(out.report.passes, steps, "{name}: one pass per step");
    }
}

fn guided_ig_without_freedom_is_left_riemann_integrated_gradients(device: &Device) {
    let bytes = file();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let model = common::zoo_cnn(device);
    let x: Tensor<4> = input(&file, "inputs", device);
    let guided = GuidedIgConfig::new()
        .with_steps(30)
        .with_max_dist(0.0)
        .init()
        .unwrap()
        .attribute(&model, x.clone(), common::classes(&file, "targets"))
        .unwrap();
    let ig = IntegratedGradientsConfig::new()
        .with_steps(30)
        .with_quadrature(Quadrature::RiemannLeft)
        .init()
        .unwrap()
        .attribute(&model, x, common::classes(&file, "targets"))
        .unwrap();
    let ig_values = common::host(&ig.values);
    common::assert_close(
        &common::host(&guided.values),
        &ig_values,
        1e-10,
        "guided vs IG",
    );
    common::assert_close(
        &ig_values,
        &read(&file, "ig.riemann_left_30").0,
        1e-10,
        "IG vs Captum",
    );
    let (a, b) = (guided.report.delta().unwrap(), ig.report.delta().unwrap());
    common::assert_close(a, b, 1e-9, "deltas");
}
