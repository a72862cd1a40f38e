//! The names of ImageNet's 1000 classes (ILSVRC 2012), in the order of the classifiers' logits.
//!
//! From torchvision's `_IMAGENET_CATEGORIES` (`torchvision/models/_meta.py`, BSD-3-Clause,
//! © Soumith Chintala 2016), extracted by `tests/fixtures/efficientnet/make_class_names.py`.

const NAMES: &str = include_str!("imagenet_classes.txt");

/// The name of ImageNet class `index` (`285` is "Egyptian cat"), or `None` past 999.
pub fn class_name(index: usize) -> Option<&'static str> {
    NAMES.lines().nth(index)
}

/// Every class name, by index.
pub fn class_names() -> Vec<&'static str> {
    NAMES.lines().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn there_are_a_thousand_names_in_order() {
        assert_eq!(class_names().len(), crate::efficientnet::CLASSES);
        assert_eq!(class_name(0), Some("tench"));
        assert_eq!(class_name(285), Some("Egyptian cat"));
        assert_eq!(class_name(967), Some("espresso"));
        assert_eq!(class_name(1000), None);
    }
}
