#include "catalog/finder_syn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Curated administrative vocabulary. "a;b;c": each member stands for the
 * others. "a>b;c": a is also searched as b and c (not the reverse).
 * Written for this project: words citizens use for the administrative
 * terms of the catalogue, not tied to any single service. */
static const char *const curated[] = {
    "kfz;kraftfahrzeug;auto;pkw;wagen",
    "motorrad>kraftfahrzeug",
    "fahrzeug>kraftfahrzeug",
    "perso;personalausweis",
    "ausweis>personalausweis",
    "id>personalausweis",
    "lappen;fuehrerschein;fahrerlaubnis;pappe;fleppe",
    "nummernschild;kennzeichen;autokennzeichen",
    "umzug;umziehen;ummelden;ummeldung",
    "umzug>wohnsitz;anmeldung;adressaenderung",
    "umziehen>wohnsitz;anmeldung;adressaenderung",
    "zuzug;zuziehen>wohnsitz anmeldung",
    "wegzug;wegziehen;auswandern>wohnsitz abmeldung",
    "adresse;anschrift;wohnsitz;wohnadresse",
    "meldebescheinigung;meldebestaetigung",
    "buergergeld;arbeitslosengeld ii;hartz;hartz iv;grundsicherung fuer arbeitsuchende",
    "arbeitslos>arbeitslosengeld",
    "gez;rundfunkbeitrag;rundfunkgebuehr;fernsehgebuehr",
    "bafoeg;ausbildungsfoerderung",
    "kita;kindertagesstaette;kindergarten;tagesmutter;kindertagespflege",
    "heirat;heiraten;hochzeit;eheschliessung;trauung",
    "heiratsurkunde;eheurkunde",
    "ehe>eheschliessung",
    "staatsbuergerschaft;staatsangehoerigkeit;einbuergerung;einbuergern",
    "deutscher werden>einbuergerung",
    "pass>reisepass",
    "visum;aufenthaltstitel;aufenthaltserlaubnis",
    "lohnsteuerkarte;lohnsteuerabzugsmerkmale;elstam",
    "steuerklasse>lohnsteuerabzugsmerkmale",
    "steuernummer>steueridentifikationsnummer",
    "steuer id;steueridentifikationsnummer;steuerid",
    "fluechtling;gefluechtete;asylbewerber;asylsuchende",
    "asyl>asylbewerberleistungsgesetz",
    "beglaubigung;beglaubigen;beglaubigt",
    "kopie;abschrift;zweitschrift",
    "taxischein;personenbefoerderungsschein;fahrgastbefoerderung",
    "taxi>fahrgastbefoerderung",
    "waffenschein;waffenerlaubnis",
    "wbs;wohnberechtigungsschein;sozialwohnung",
    "kneipe;gaststaette;lokal;restaurant;bar;imbiss;cafe",
    "laden;geschaeft;firma;betrieb;gewerbe;selbststaendigkeit",
    "freiberufler;freiberuflich;freelancer",
    "selbststaendig;selbstaendig;selbststaendige",
    "vorstrafen;vorstrafe;fuehrungszeugnis",
    "baby;neugeborenes;geburt",
    "gestorben;verstorben;tod;todesfall;sterbefall",
    "schwerbehindert;behinderung;behindert;schwerbehinderung",
    "muell;abfall;entsorgung;entsorgen",
    "fernseher;glotze;computer;laptop;handy>elektroschrott;elektrogeraete",
    "kuehlschrank;waschmaschine;herd;toaster>elektroschrott;elektrogeraete",
    "moebel;sofa;schrank;matratze>sperrmuell",
    "parkplatz;parken;parkausweis;parkschein",
    "anwohner;bewohner;anlieger",
    "baum;baeume;faellen;faellung",
    "bauantrag;bauen;hausbau;anbau>baugenehmigung",
    "abriss;abreissen;rueckbau>abbruchgenehmigung;abbruch",
    "umweltplakette;feinstaubplakette;plakette",
    "oldtimer>historische;h-kennzeichen",
    "angeln;angelschein>fischereischein",
    "jagen;jaeger>jagdschein",
    "fundbuero;verloren>fundsachen",
    "wahlschein;briefwahl;briefwahlunterlagen",
    "wahl;waehlen;abstimmung",
    "wohngeld;mietzuschuss;lastenzuschuss",
    "miete>wohngeld",
    "rente;rentner;alter",
    "schule;einschulung;grundschule",
    "unterhalt>unterhaltsvorschuss",
    "kirche>kirchenaustritt",
    "namensaenderung;namen aendern;name aendern",
    "vaterschaft;vater",
    "mutterschaft;schwangerschaft;schwanger;mutterschutz",
    "elternzeit>elterngeld",
    "steuererklaerung>einkommensteuer",
    "grundstueck;haus;immobilie>grundsteuer",
    "zweitwohnung;nebenwohnung;zweitwohnsitz;nebenwohnsitz",
    "hauptwohnung;hauptwohnsitz",
    "vermieter>wohnungsgeberbestaetigung;wohnungsgeber",
    "verloren;verlust;weg;verlegt",
    "gestohlen;diebstahl;geklaut",
    "express;eilig;schnell",
    "abgelaufen;ablaufen;verlaengern;verlaengerung",
    "abholen;abholung",
    /* Citizens' verbs → the LeiKa "Verrichtung" of the service they mean. */
    "beantragen;antrag;bestellen;anfordern;brauche;machen>ausstellung;erteilung;bewilligung",
    "verloren;verlust;gestohlen>ersatz",
    "umtauschen;tauschen>umtausch",
    "aendern;wechseln>aenderung",
    "melden>anzeige;anmeldung",
    "aufmachen;eroeffnen;gruenden>anmeldung",
    "dichtmachen;schliessen;aufgeben>abmeldung",
    "arbeiten;arbeit;job;beschaeftigung;erwerbstaetigkeit",
    "studium;studieren;student;studierende;studentin",
    "ausland;auslaendisch;international",
    "anerkennung;anerkennen",
};

/* English → German keywords for the most used services. Word level, plus a
 * few two-word keys, so unseen phrasings still map. */
static const char *const english[] = {
    "register;registration;enrol;enrolment;enroll>anmeldung;anmelden",
    "deregister;deregistration;unregister;cancel>abmeldung;abmelden",
    "address>wohnsitz;adresse",
    "move;moving;relocate;relocation>umzug;wohnsitz;ummeldung",
    "residence>aufenthalt;wohnsitz",
    "residence permit>aufenthaltserlaubnis",
    "car;vehicle;motor>kraftfahrzeug",
    "dog>hund;hundesteuer",
    "tax>steuer",
    "certificate>bescheinigung;urkunde;zeugnis",
    "birth>geburt",
    "death;died;dead>sterbefall;tod",
    "marriage;married;marry;wedding>eheschliessung;ehe;heirat",
    "passport>reisepass",
    "identity;id card>personalausweis",
    "card>ausweis;karte",
    "driving;driver;drivers>fuehrerschein;fahrerlaubnis",
    "licence;license>schein;erlaubnis",
    "permit>erlaubnis;genehmigung",
    "fishing>fischereischein;fischerei",
    "hunting>jagdschein",
    "work;working;employment;job>beschaeftigung;arbeit",
    "visa>visum;aufenthaltserlaubnis",
    "citizenship;naturalisation;naturalization>einbuergerung",
    "business;trade;company;shop>gewerbe",
    "open;start;opening>anmeldung",
    "close;closing>abmeldung",
    "building;build;construction>bau;baugenehmigung",
    "demolition;demolish>abbruch",
    "tree>baum",
    "parking;park>parken;parkausweis",
    "resident;residents>bewohner",
    "child;children;kid;kids>kind;kinder",
    "parental;parents>eltern;elterngeld",
    "benefit;benefits;allowance>geld;leistung",
    "housing>wohnung;wohngeld",
    "rent>miete;wohngeld",
    "unemployment;unemployed>arbeitslosengeld",
    "student;students>studierende;studium",
    "grant;funding>foerderung",
    "vote;voting;election>wahl",
    "postal>briefwahl;brief",
    "waste;rubbish;garbage;trash>abfall;muell",
    "bulky>sperrmuell",
    "electronic;electrical>elektroschrott;elektrogeraete",
    "criminal;police>fuehrungszeugnis",
    "good conduct;criminal record>fuehrungszeugnis",
    "record>register;auskunft",
    "lost>verlust;verloren",
    "stolen;theft>diebstahl",
    "lost property;found>fundsachen",
    "weapon;gun;firearm>waffe",
    "tax id;tax number>steueridentifikationsnummer",
    "income>einkommen",
    "church>kirche;kirchenaustritt",
    "name>name",
    "change>aenderung",
    "copy;copies>abschrift;kopie",
    "certified>beglaubigung",
    "exchange;swap>umtausch",
    "foreign>auslaendisch",
    "qualification;qualifications;degree>berufsqualifikation",
    "recognition;recognise;recognize>anerkennung",
    "school>schule",
    "daycare;childcare;nursery>kindertagespflege;kita",
    "fee;fees>gebuehr",
    "property>grundsteuer;grundstueck",
    "second home>zweitwohnung",
    "broadcasting;tv;television>rundfunkbeitrag",
    "disability;disabled>schwerbehindert;schwerbehinderung",
    "emission;sticker>feinstaubplakette",
    "plate;plates>kennzeichen",
    "custom;personalised;personalized>wunschkennzeichen;wunsch",
    "historic;vintage>historisch",
    "seasonal>saisonkennzeichen",
    "street;road>strasse",
    "asylum;refugee;refugees>asylbewerberleistungsgesetz;asyl",
    "blue card>blaue karte",
    "settlement;permanent>niederlassungserlaubnis",
    "study;studies;university>studium",
    "paternity>vaterschaft",
    "maternity;pregnancy>mutterschaftsgeld;mutterschaft",
    "extend;extension;renew;renewal>verlaengerung",
    "replace;replacement>ersatz",
    "apply;application>antrag;beantragen",
    "international>international",
    "taxi>fahrgastbefoerderung",
    "pension>rente",
    "tax card;wage tax;tax class>lohnsteuerabzugsmerkmale",
    "income tax>einkommensteuer",
    "waste fee>abfallgebuehr",
    "commitment;sponsor;invitation>verpflichtungserklaerung",
    "fine dust>feinstaubplakette",
    "landlord>wohnungsgeberbestaetigung;vermieter",
    "confirmation>bestaetigung",
    "proof>nachweis;bescheinigung",
    "registration certificate;proof of;registered address>meldebescheinigung",
    "population register;registry>melderegister",
    "temporary;provisional>vorlaeufig",
    "child passport;children's passport>kinderreisepass",
    "scrap;scrapping>abmeldung;verschrotten",
    "moving van;removal>halteverbot;umzug",
    "scaffolding;skip;container;sidewalk;pavement>sondernutzung",
    "commercial register;trade register;company register>handelsregister",
    "freelance;freelancer;self-employed;selfemployed>freiberuflich;freiberufliche",
    "restaurant;bar;pub;cafe;alcohol>gaststaette;gaststaettenerlaubnis",
    "market;vendor;peddler;hawker>reisegewerbe",
    "preliminary;pre-approval>bauvorbescheid",
    "multilingual>mehrsprachig",
    "child benefit>kindergeld",
    "maintenance;alimony;child support>unterhaltsvorschuss",
    "supplement>kinderzuschlag;zuschlag",
    "primary school;first grade;enrol school>grundschule;einschulung",
    "housing benefit>wohngeld",
    "social housing;council flat>wohnberechtigungsschein",
    "welfare;citizens income;basic income>buergergeld",
    "social assistance>sozialhilfe;lebensunterhalt",
    "old age;pension top-up>grundsicherung",
    "master craftsman;further training>aufstiegsfortbildung;fortbildung",
    "citizenship test;naturalisation test;naturalization test>einbuergerungstest",
    "pepper spray;blank gun;flare gun>schreckschuss;reizstoff;signalwaffen",
    "absentee;absentee ballot;mail-in>briefwahl",
    "polling card;ballot>wahlschein",
    "newborn;baby>geburt",
    "funeral;burial>sterbefall;bestattung",
};

void aw_syn_init(aw_syn_t *s) {
    memset(s, 0, sizeof *s);
    aw_strmap_init(&s->keys);
    aw_arena_init(&s->arena, 64 * 1024, 0);
}

void aw_syn_free(aw_syn_t *s) {
    for (size_t i = 0; i < s->n_lists; i++) free(s->lists[i].v);
    free(s->lists);
    aw_strmap_free(&s->keys);
    aw_arena_free(&s->arena);
    memset(s, 0, sizeof *s);
}

const aw_syn_exp_t *aw_syn_get(const aw_syn_t *s, const char *key, size_t len, size_t *n) {
    const uint32_t *v = aw_strmap_get(&s->keys, key, len);
    if (!v || *v == 0) {
        *n = 0;
        return NULL;
    }
    *n = s->lists[*v - 1].n;
    return s->lists[*v - 1].v;
}

enum { MAX_PER_KEY = 16 };

static int add_exp(aw_syn_t *s, const char *key, size_t klen, const char *terms, int strong) {
    if (klen == 0 || !*terms) return 0;
    uint32_t *v = aw_strmap_put(&s->keys, key, klen);
    if (!v) return AW_ENOMEM;
    if (*v == 0) {
        if (s->n_lists == s->cap_lists) {
            size_t nc = s->cap_lists ? s->cap_lists * 2 : 256;
            struct aw_syn_list *nl = realloc(s->lists, nc * sizeof *nl);
            if (!nl) return AW_ENOMEM;
            s->lists = nl;
            s->cap_lists = nc;
        }
        memset(&s->lists[s->n_lists], 0, sizeof s->lists[0]);
        *v = (uint32_t)++s->n_lists;
    }
    struct aw_syn_list *l = &s->lists[*v - 1];
    for (uint32_t i = 0; i < l->n; i++) {
        if (strcmp(l->v[i].terms, terms) == 0) {
            if (strong > l->v[i].strong) l->v[i].strong = (uint8_t)strong;
            return 0;
        }
    }
    if (l->n >= MAX_PER_KEY) return 0;
    if (l->n == l->cap) {
        uint32_t nc = l->cap ? l->cap * 2 : 4;
        aw_syn_exp_t *nv = realloc(l->v, nc * sizeof *nv);
        if (!nv) return AW_ENOMEM;
        l->v = nv;
        l->cap = nc;
    }
    char *t = aw_arena_strdup(&s->arena, terms);
    if (!t) return AW_ENOMEM;
    l->v[l->n].terms = t;
    l->v[l->n].strong = (uint8_t)strong;
    l->n++;
    return 0;
}

/* Does any term of a space-separated term list occur in the index? */
static int any_known(const char *terms, aw_syn_known_fn known, void *ctx) {
    const char *p = terms;
    while (*p) {
        size_t n = strcspn(p, " ");
        if (n && known(ctx, p, n)) return 1;
        p += n;
        while (*p == ' ') p++;
    }
    return 0;
}

enum { MAX_MEMBERS = 48, TERMS_MAX = 512 };

typedef struct {
    char key[TERMS_MAX];
    char exp[TERMS_MAX];
    char raw[TERMS_MAX];
    size_t klen;
    int words;
} member_t;

/* Adds a synset (directed: only members [0, n_from) are keys). */
static int add_set(aw_syn_t *s, member_t *m, size_t n, size_t n_from, int strong,
                   aw_syn_known_fn known, void *ctx) {
    for (size_t i = 0; i < n_from; i++) {
        if (m[i].words > 2 || m[i].klen == 0) continue;
        for (size_t j = n_from == n ? 0 : n_from; j < n; j++) {
            if (j == i || strcmp(m[i].key, m[j].key) == 0) continue;
            if (!strong && !any_known(m[j].exp, known, ctx)) continue;
            int rc = add_exp(s, m[i].key, m[i].klen, m[j].exp, strong);
            if (rc) return rc;
        }
    }
    return 0;
}

static size_t count_words(const char *p, size_t n) {
    size_t w = 0;
    int in = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == ' ')
            in = 0;
        else if (!in) {
            in = 1;
            w++;
        }
    }
    return w;
}

/* Parses "a;b>c;d" style or thesaurus lines into members. Annotations in
 * parentheses are dropped; members that become empty are skipped. */
static size_t parse_members(const char *line, size_t len, member_t *m, size_t max, size_t *n_from,
                            aw_syn_analyze_fn an, void *ctx) {
    size_t n = 0;
    *n_from = 0;
    size_t i = 0;
    while (i < len && n < max) {
        size_t j = i;
        while (j < len && line[j] != ';' && line[j] != '>') j++;
        char clean[TERMS_MAX];
        size_t cl = 0;
        int depth = 0;
        for (size_t k = i; k < j && cl + 1 < sizeof clean; k++) {
            if (line[k] == '(')
                depth++;
            else if (line[k] == ')') {
                if (depth) depth--;
            } else if (!depth)
                clean[cl++] = line[k];
        }
        clean[cl] = 0;
        m[n].klen = an(ctx, clean, cl, 1, m[n].key, sizeof m[n].key);
        m[n].exp[0] = 0;
        if (m[n].klen) {
            /* Expansions are the members' own terms: documents index their
             * compound parts, so "kraftfahrzeug" also finds
             * "Kraftfahrzeugkennzeichen", and parts of the expansion
             * ("kraft", "zeug") would only add noise. */
            memcpy(m[n].exp, m[n].key, m[n].klen + 1);
            memcpy(m[n].raw, clean, cl + 1);
            m[n].words = (int)count_words(m[n].key, m[n].klen);
            n++;
        }
        if (j < len && line[j] == '>') *n_from = n;
        i = j + 1;
    }
    if (*n_from == 0) *n_from = n;
    return n;
}

static int add_lines(aw_syn_t *s, const char *const *lines, size_t count, int strength,
                     aw_syn_analyze_fn an, aw_syn_known_fn known, void *ctx) {
    member_t *m = malloc(MAX_MEMBERS * sizeof *m);
    if (!m) return AW_ENOMEM;
    int rc = 0;
    for (size_t i = 0; i < count && !rc; i++) {
        size_t n_from;
        size_t n = parse_members(lines[i], strlen(lines[i]), m, MAX_MEMBERS, &n_from, an, ctx);
        rc = add_set(s, m, n, n_from, strength, known, ctx);
    }
    free(m);
    return rc;
}

int aw_syn_add_curated(aw_syn_t *s, aw_syn_analyze_fn an, aw_syn_known_fn known, void *ctx,
                       aw_err_t *err) {
    int rc = add_lines(s, curated, sizeof curated / sizeof *curated, 1, an, known, ctx);
    if (!rc) rc = add_lines(s, english, sizeof english / sizeof *english, 2, an, known, ctx);
    if (rc) return aw_err_set(err, rc, "finder synonyms: out of memory");
    return 0;
}

/* Splits a thesaurus line into single-word members (annotations in
 * parentheses dropped, phrases skipped: they are idioms such as "voll wie
 * eine Haubitze" whose words would mislead a keyword search). */
static size_t thesaurus_members(const char *line, size_t len, member_t *m, size_t max) {
    size_t n = 0, i = 0;
    while (i < len && n < max) {
        size_t j = i;
        while (j < len && line[j] != ';') j++;
        size_t cl = 0;
        int depth = 0, space = 0;
        for (size_t k = i; k < j && cl + 1 < sizeof m[n].raw; k++) {
            char c = line[k];
            if (c == '(')
                depth++;
            else if (c == ')') {
                if (depth) depth--;
            } else if (!depth) {
                if (c == ' ') {
                    space = cl > 0;
                    continue;
                }
                if (space) {
                    cl = 0; /* a phrase: drop */
                    break;
                }
                m[n].raw[cl++] = c;
            }
        }
        m[n].raw[cl] = 0;
        if (cl) n++;
        i = j + 1;
    }
    return n;
}

int aw_syn_load_thesaurus(aw_syn_t *s, const char *path, aw_syn_analyze_fn an,
                          aw_syn_known_fn known, aw_syn_maybe_fn maybe, void *ctx, aw_err_t *err) {
    FILE *f = fopen(path, "r");
    if (!f) {
        int e = errno;
        return aw_err_set(err, e == ENOENT ? AW_ENOTFOUND : AW_EIO, "thesaurus %s: %s", path,
                          strerror(e));
    }
    member_t *m = malloc(MAX_MEMBERS * sizeof *m);
    if (!m) {
        fclose(f);
        return aw_err_set(err, AW_ENOMEM, "thesaurus: out of memory");
    }
    char line[4096];
    int rc = 0;
    while (!rc && fgets(line, sizeof line, f)) {
        size_t len = strcspn(line, "\r\n");
        if (len == 0 || line[0] == '#') continue;
        size_t n = thesaurus_members(line, len, m, MAX_MEMBERS);
        if (n < 2 || n > 24) continue; /* big sets are too vague to help */
        /* Three passes, each on fewer sets: a cheap test on the folded
         * words, then the words' terms against the index, then compound
         * parts for the sets that are kept. */
        int useful = 0;
        for (size_t i = 0; i < n && !useful; i++) useful = maybe(ctx, m[i].raw, strlen(m[i].raw));
        if (!useful) continue;
        useful = 0;
        for (size_t i = 0; i < n; i++) {
            m[i].klen = an(ctx, m[i].raw, strlen(m[i].raw), 1, m[i].key, sizeof m[i].key);
            m[i].words = 1;
            if (m[i].klen && any_known(m[i].key, known, ctx)) useful = 1;
        }
        if (!useful) continue;
        /* Expansions are the words' own terms, without compound parts
         * (see parse_members): "Lichtbildausweis" should not bring "Licht". */
        for (size_t i = 0; i < n; i++) memcpy(m[i].exp, m[i].key, m[i].klen + 1);
        s->thesaurus_sets++;
        rc = add_set(s, m, n, n, 0, known, ctx);
    }
    int rd_err = ferror(f);
    free(m);
    fclose(f);
    if (rc) return aw_err_set(err, rc, "thesaurus %s: out of memory", path);
    if (rd_err) return aw_err_set(err, AW_EIO, "thesaurus %s: read error", path);
    return 0;
}
