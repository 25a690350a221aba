//! Typesetting a report into a PDF with typst used as a library: the
//! template (`template.typ`, built into the binary) reads the report's
//! content from `data.json` and its charts from `charts/{i}.svg`, all held
//! in memory. Fonts are DejaVu Sans, shipped in the binary, so no system
//! fonts are needed and the same report looks the same everywhere; text is
//! selectable and the fonts are embedded as subsets.

use std::sync::LazyLock;

use chrono::{DateTime, Datelike, Timelike, Utc};
use typst::diag::{FileError, FileResult};
use typst::foundations::{Bytes, Datetime, Duration};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};
use typst_layout::PagedDocument;

use super::content::Content;
use super::{Error, Result};

const TEMPLATE: &str = include_str!("template.typ");

/// The fonts and standard library, loaded once per process.
struct Assets {
    library: LazyHash<Library>,
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
}

static ASSETS: LazyLock<Assets> = LazyLock::new(|| {
    let files: [&'static [u8]; 2] = [
        include_bytes!("../../assets/fonts/DejaVuSans.ttf"),
        include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf"),
    ];
    let fonts: Vec<Font> = files
        .into_iter()
        .flat_map(|data| Font::iter(Bytes::new(data)))
        .collect();
    Assets {
        library: LazyHash::new(Library::default()),
        book: LazyHash::new(FontBook::from_fonts(&fonts)),
        fonts,
    }
});

fn file_id(path: &str) -> FileId {
    let vpath =
        VirtualPath::new(path).unwrap_or_else(|_| unreachable!("fixed virtual path {path}"));
    RootedPath::new(VirtualRoot::Project, vpath).intern()
}

/// One report's files, in memory.
struct ReportWorld {
    main: FileId,
    source: Source,
    data: Bytes,
    charts: Vec<Bytes>,
    today: DateTime<Utc>,
}

impl World for ReportWorld {
    fn library(&self) -> &LazyHash<Library> {
        &ASSETS.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &ASSETS.book
    }

    fn main(&self) -> FileId {
        self.main
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main {
            Ok(self.source.clone())
        } else {
            Err(FileError::NotSource)
        }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        let path = id.vpath().get_with_slash();
        let not_found = || FileError::NotFound(path.trim_start_matches('/').into());
        if id == self.main {
            return Ok(Bytes::from_string(self.source.clone()));
        }
        if path == "/data.json" {
            return Ok(self.data.clone());
        }
        let n = path
            .strip_prefix("/charts/")
            .and_then(|p| p.strip_suffix(".svg"))
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(not_found)?;
        self.charts.get(n).cloned().ok_or_else(not_found)
    }

    fn font(&self, index: usize) -> Option<Font> {
        ASSETS.fonts.get(index).cloned()
    }

    fn today(&self, _offset: Option<Duration>) -> Option<Datetime> {
        Datetime::from_ymd(
            self.today.year(),
            self.today.month() as u8,
            self.today.day() as u8,
        )
    }
}

/// A typeset report.
#[derive(Debug, Clone)]
pub struct Pdf {
    pub bytes: Vec<u8>,
    pub pages: usize,
}

/// Typesets a report's content into a PDF.
pub fn render(content: &Content, generated: DateTime<Utc>) -> Result<Pdf> {
    let main = file_id("/main.typ");
    let data = serde_json::to_vec(&content.data).map_err(|e| Error::Typeset(e.to_string()))?;
    let world = ReportWorld {
        main,
        source: Source::new(main, TEMPLATE.to_string()),
        data: Bytes::new(data),
        charts: content
            .charts
            .iter()
            .map(|svg| Bytes::new(svg.clone().into_bytes()))
            .collect(),
        today: generated,
    };
    let messages = |diags: &[typst::diag::SourceDiagnostic]| {
        diags
            .iter()
            .map(|d| d.message.to_string())
            .collect::<Vec<_>>()
            .join("; ")
    };
    let warned = typst::compile::<PagedDocument>(&world);
    for w in warned.warnings.iter() {
        tracing::warn!(warning = %w.message, "report template");
    }
    let document = warned.output.map_err(|e| Error::Typeset(messages(&e)))?;
    let timestamp = Datetime::from_ymd_hms(
        generated.year(),
        generated.month() as u8,
        generated.day() as u8,
        generated.hour() as u8,
        generated.minute() as u8,
        generated.second() as u8,
    )
    .map(typst_pdf::Timestamp::new_utc);
    let options = typst_pdf::PdfOptions {
        ident: typst::foundations::Smart::Custom(content.data.title.clone()),
        creator: typst::foundations::Smart::Custom(Some("uptake".into())),
        timestamp,
        ..Default::default()
    };
    let bytes = typst_pdf::pdf(&document, &options).map_err(|e| Error::Typeset(messages(&e)))?;
    // Results of this report are not needed again; keep memory bounded.
    typst::comemo::evict(2);
    Ok(Pdf {
        bytes,
        pages: document.pages().len(),
    })
}
