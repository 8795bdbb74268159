//! For the drawings' tests: whether an SVG is well-formed XML (tags balance, one root,
//! entities known), without an XML crate.

/// Checks that tags balance, attributes are quoted and `&` only starts an entity.
pub(crate) fn well_formed(xml: &str) -> Result<(), String> {
    let entity = |t: &str| -> Result<(), String> {
        for (i, _) in t.match_indices('&') {
            let rest = &t[i + 1..];
            let end = rest.find(';').ok_or(format!("bare & in {t:?}"))?;
            if end == 0 || !rest[..end].chars().all(|c| c.is_ascii_alphanumeric() || c == '#') {
                return Err(format!("bad entity in {t:?}"));
            }
        }
        Ok(())
    };
    let (mut stack, mut roots, mut rest) = (Vec::new(), 0, xml);
    while let Some(lt) = rest.find('<') {
        entity(&rest[..lt])?;
        if stack.is_empty() && !rest[..lt].trim().is_empty() {
            return Err(format!("text outside the root: {:?}", &rest[..lt]));
        }
        rest = &rest[lt + 1..];
        let (mut end, mut quoted) = (None, false);
        for (i, c) in rest.char_indices() {
            match c {
                '"' => quoted = !quoted,
                '<' if quoted => return Err("< in an attribute".into()),
                '>' if !quoted => {
                    end = Some(i);
                    break;
                }
                _ => {}
            }
        }
        let tag = &rest[..end.ok_or("unclosed tag")?];
        rest = &rest[tag.len() + 1..];
        entity(tag)?;
        if let Some(name) = tag.strip_prefix('/') {
            if stack.pop() != Some(name.trim()) {
                return Err(format!("</{name}> closes nothing open"));
            }
        } else {
            let name = tag
                .split(|c: char| c.is_whitespace() || c == '/')
                .next()
                .unwrap_or("");
            if stack.is_empty() {
                roots += 1;
            }
            if !tag.ends_with('/') {
                stack.push(name);
            }
        }
    }
    if !stack.is_empty() || roots != 1 || !rest.trim().is_empty() {
        return Err(format!("open at the end: {stack:?}, {roots} roots"));
    }
    Ok(())
}
