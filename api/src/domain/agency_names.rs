//! How people name agencies: the short names in everyday use (市场监管, 城管, 环保 …)
//! against the official names (…市场监督管理局, …城市管理局, …生态环境局). A search
//! for a short name also finds the official one.

/// (short name people type, the part of the official name it stands for).
const ALIASES: &[(&str, &str)] = &[
    ("市场监管", "市场监督管理"),
    ("市监", "市场监督管理"),
    ("工商", "市场监督管理"),
    ("城管", "城市管理"),
    ("环保", "生态环境"),
    ("环境", "生态环境"),
    ("交通", "交通运输"),
    ("应急", "应急管理"),
    ("安监", "应急管理"),
    ("卫健", "卫生健康"),
    ("卫生", "卫生健康"),
    ("农业", "农业农村"),
    ("国土", "自然资源"),
    ("规划", "自然资源和规划"),
    ("文旅", "文化广电和旅游"),
    ("文化", "文化广电和旅游"),
    ("旅游", "文化广电和旅游"),
];

/// The texts a name search looks for: what was typed, and the official part of
/// every short name it contains (`海州区市场监管` → also `海州区市场监督管理`).
pub fn search_terms(typed: &str) -> Vec<String> {
    let typed = typed.trim();
    let mut terms = vec![typed.to_owned()];
    for (short, official) in ALIASES {
        if typed.contains(short) && !typed.contains(official) {
            let expanded = typed.replace(short, official);
            if !terms.contains(&expanded) {
                terms.push(expanded);
            }
        }
    }
    terms
}

#[cfg(test)]
mod tests {
    use super::search_terms;

    #[test]
    fn short_names_find_official_ones() {
        assert_eq!(search_terms("市场监管"), ["市场监管", "市场监督管理"]);
        assert_eq!(search_terms("海州区城管"), ["海州区城管", "海州区城市管理"]);
        assert_eq!(search_terms(" 市场监督管理局 "), ["市场监督管理局"]);
        assert_eq!(search_terms("公安"), ["公安"]);
    }
}
