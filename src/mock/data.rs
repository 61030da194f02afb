//! Fake but deterministic data: the same input always gives the same
//! answer, so results can be compared across runs.

use serde_json::{Value, json};

/// FNV-1a: a stable hash (std's hasher is randomised per process).
fn fnv(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in *part {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

const ADJECTIVES: &[&str] = &[
    "Sturdy", "Polished", "Raw", "Recycled", "Premium", "Compact", "Heavy", "Light", "Coated",
    "Brushed",
];
const PRODUCTS: &[&str] = &[
    "Chair", "Lamp", "Table", "Shelf", "Desk", "Stool", "Cabinet", "Bench", "Frame", "Rack",
];
const MATERIALS: &[&str] = &[
    "Oak",
    "Steel",
    "Copper",
    "Granite",
    "Linen",
    "Walnut",
    "Aluminium",
    "Glass",
    "Cork",
    "Bamboo",
];

/// An inventory item of `kind` (`products` or `materials`); `None` for an
/// unknown kind.
pub fn inventory_item(kind: &str, id: u64) -> Option<Value> {
    let nouns = match kind {
        "products" => PRODUCTS,
        "materials" => MATERIALS,
        _ => return None,
    };
    let h = fnv(&[kind.as_bytes(), &id.to_le_bytes()]);
    let name = format!(
        "{} {}",
        ADJECTIVES[(h % 10) as usize],
        nouns[((h >> 8) % 10) as usize]
    );
    let cents = (h >> 16) % 100_000 + 100;
    Some(json!({
        "id": id,
        "name": name,
        "price": format!("{}.{:02} EUR", cents / 100, cents % 100),
        "quantity": (h >> 40) % 1000,
    }))
}

/// A geocoding answer for an address.
pub fn geocode(text: &str) -> Value {
    let h = fnv(&[text.as_bytes()]);
    let lat = (h % 1_800_000) as f64 / 10_000.0 - 90.0;
    let lon = ((h >> 24) % 3_600_000) as f64 / 10_000.0 - 180.0;
    json!({"query": {"text": text}, "lat": lat, "lon": lon})
}

/// `/bytes` answers repeat with this period.
pub const PERIOD: u64 = 251;

/// A deterministic byte at offset `i` of a `/bytes` answer.
pub fn byte_at(i: u64) -> u8 {
    ((i % PERIOD) * 31 % PERIOD) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_distinct() {
        assert_eq!(inventory_item("products", 7), inventory_item("products", 7));
        assert_ne!(
            inventory_item("products", 7),
            inventory_item("materials", 7)
        );
        assert!(inventory_item("widgets", 7).is_none());
        let item = inventory_item("materials", 3).unwrap();
        assert!(item["price"].as_str().unwrap().ends_with(" EUR"));
        assert_eq!(geocode("1 Main St"), geocode("1 Main St"));
        let g = geocode("x");
        assert!((-90.0..=90.0).contains(&g["lat"].as_f64().unwrap()));
        assert!((-180.0..=180.0).contains(&g["lon"].as_f64().unwrap()));
    }
}
