/* Fuzz target: the finder's query path (folding, stemming, decompounding,
 * synonym and trigram lookups, the FTS5 MATCH string) on arbitrary bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "catalog/finder.h"

static aw_finder_t *finder;

static const aw_finder_doc_t docs[] = {
    {"99102013104000", "Hundesteuer Anmeldung", "Hund anmelden; Hundemarke",
     "Einen Hund zur Hundesteuer anmelden.", "Wer einen Hund hält, meldet ihn an.", NULL},
    {"99036008007000", "Kraftfahrzeug Zulassung", "Auto anmelden; Kfz-Zulassung",
     "Ein Kraftfahrzeug zulassen.", "Die Zulassungsstelle teilt ein Kennzeichen zu.", NULL},
    {"99008001012000", "Personalausweis Ausstellung", "Perso; Ausweis \"neu\"",
     "Einen Personalausweis beantragen.", "Ausweis für Deutsche ab 16 Jahren.", NULL},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!finder) {
        aw_log_set_level(AW_LOG_ERROR);
        if (aw_finder_new(docs, sizeof docs / sizeof *docs, NULL, &finder, NULL) != 0) abort();
    }
    char q[AW_FINDER_QUERY_MAX + 1];
    size_t n = size < AW_FINDER_QUERY_MAX ? size : AW_FINDER_QUERY_MAX;
    memcpy(q, data, n);
    q[n] = 0;
    aw_finder_hit_t hits[10];
    int r = aw_finder_search(finder, q, 10, hits, NULL);
    if (r < 0 || r > 3) abort();
    return 0;
}
