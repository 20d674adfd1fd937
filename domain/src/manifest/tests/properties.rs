//! parse(serialize(x)) == x for generated image manifests and lists.

use super::*;
use proptest::prelude::*;
use serde_json::{Map, Value};

fn digest() -> impl Strategy<Value = Digest> {
    "[a-f0-9]{64}".prop_map(|h| Digest::parse(&format!("sha256:{h}")).unwrap())
}

fn oci_media_type() -> impl Strategy<Value = String> {
    "[a-z]{1,8}/[a-z0-9][a-z0-9.+-]{0,12}"
}

fn annotations() -> impl Strategy<Value = Option<Map<String, Value>>> {
    proptest::option::of(
        proptest::collection::btree_map("[a-z.]{1,10}", "\\PC{0,10}", 0..3)
            .prop_map(|m| m.into_iter().map(|(k, v)| (k, Value::String(v))).collect()),
    )
}

fn descriptor(media_type: BoxedStrategy<String>) -> impl Strategy<Value = Descriptor> {
    (
        media_type,
        0i64..i64::MAX,
        digest(),
        proptest::option::of(proptest::collection::vec(
            "https://[a-z]{1,8}/[a-z]{0,8}",
            1..3,
        )),
        annotations(),
        proptest::option::of(oci_media_type()),
    )
        .prop_map(
            |(media_type, size, digest, urls, annotations, artifact_type)| Descriptor {
                media_type,
                size,
                digest,
                urls,
                annotations,
                artifact_type,
                platform: None,
            },
        )
}

fn oci_image() -> impl Strategy<Value = ImageManifest> {
    (
        any::<bool>(),
        descriptor(oci_media_type().boxed()),
        proptest::collection::vec(descriptor(oci_media_type().boxed()), 0..4),
        proptest::option::of(descriptor(oci_media_type().boxed())),
        proptest::option::of(oci_media_type()),
        annotations(),
    )
        .prop_map(
            |(declares, config, layers, subject, artifact_type, annotations)| ImageManifest {
                media_type: M::OciManifest,
                declares_media_type: declares,
                config,
                layers: layers
                    .into_iter()
                    .map(|descriptor| Layer {
                        descriptor,
                        is_remote: false,
                    })
                    .collect(),
                subject,
                artifact_type,
                annotations,
            },
        )
}

fn docker_image() -> impl Strategy<Value = ImageManifest> {
    let config = descriptor(Just(mt::DOCKER_SCHEMA2_CONFIG.to_owned()).boxed());
    let layer = descriptor(Just(mt::DOCKER_SCHEMA2_LAYER.to_owned()).boxed());
    (config, proptest::collection::vec(layer, 0..4)).prop_map(|(config, layers)| ImageManifest {
        media_type: M::DockerSchema2,
        declares_media_type: true,
        config,
        layers: layers
            .into_iter()
            .map(|descriptor| Layer {
                descriptor,
                is_remote: false,
            })
            .collect(),
        subject: None,
        artifact_type: None,
        annotations: None,
    })
}

fn platform() -> impl Strategy<Value = Platform> {
    (
        "[a-z0-9]{1,8}",
        "[a-z]{1,8}",
        proptest::option::of("[0-9.]{1,8}"),
        proptest::option::of("[a-z0-9]{1,4}"),
    )
        .prop_map(|(architecture, os, os_version, variant)| Platform {
            architecture,
            os,
            os_version,
            variant,
            ..Platform::default()
        })
}

fn oci_index() -> impl Strategy<Value = ManifestList> {
    let entry = (
        descriptor(oci_media_type().boxed()),
        proptest::option::of(platform()),
    )
        .prop_map(|(mut d, p)| {
            d.platform = p;
            d
        });
    (
        any::<bool>(),
        proptest::collection::vec(entry, 0..4),
        proptest::option::of(descriptor(oci_media_type().boxed())),
        annotations(),
    )
        .prop_map(|(declares, manifests, subject, annotations)| ManifestList {
            media_type: M::OciIndex,
            declares_media_type: declares,
            manifests,
            subject,
            artifact_type: None,
            annotations,
        })
}

proptest! {
    #[test]
    fn oci_images_round_trip(m in oci_image()) {
        let bytes = serde_json::to_vec(&m.to_json()).unwrap();
        prop_assert_eq!(parse(M::OciManifest, &bytes).unwrap(), ParsedManifest::Image(m));
    }

    #[test]
    fn docker_images_round_trip(m in docker_image()) {
        let bytes = serde_json::to_vec_pretty(&m.to_json()).unwrap();
        prop_assert_eq!(parse(M::DockerSchema2, &bytes).unwrap(), ParsedManifest::Image(m));
    }

    #[test]
    fn oci_indexes_round_trip(l in oci_index()) {
        let bytes = serde_json::to_vec(&l.to_json()).unwrap();
        prop_assert_eq!(parse(M::OciIndex, &bytes).unwrap(), ParsedManifest::List(l));
    }

    #[test]
    fn parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200), t in 0usize..6) {
        let _ = parse(M::ALL[t], &bytes);
    }

    #[test]
    fn parsers_never_panic_on_json_like_input(s in "[{}\\[\\]\":,a-zA-Z0-9 ]{0,120}", t in 0usize..6) {
        let _ = parse(M::ALL[t], s.as_bytes());
    }
}
