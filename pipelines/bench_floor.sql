-- The floor for `lagesbild bench refresh`: the same partitioned marts computed by plain DuckDB straight from the
-- same export files (no contracts, quarantine, revisions, quality checks or pages). {incoming} and {reference}
-- are filled in by pipelines/bench_national.py.
CREATE SCHEMA marts;
CREATE SCHEMA intermediate;

CREATE TABLE crime_codes AS SELECT * FROM read_csv('{reference}/crime_codes.csv', header = true, all_varchar = true);

CREATE TABLE crime AS
SELECT "Diarienummer" AS report_id, "Brottskod" AS crime_code, "Inskrivningsdatum" AS registered_date,
       "Kommunkod" AS municipality_code, coalesce("Områdeskod", '') AS area_code, "Antal brott" AS crime_count
FROM read_csv('{incoming}/crime_reports/*.csv', delim = ';', header = true,
              columns = {'Diarienummer': 'VARCHAR', 'Brottsnummer': 'INTEGER', 'Brottskod': 'VARCHAR',
                         'Inskrivningsdatum': 'DATE', 'Brottsdatum från': 'DATE', 'Kommunkod': 'VARCHAR',
                         'Områdeskod': 'VARCHAR', 'Antal brott': 'INTEGER'});

CREATE TABLE intermediate.int_crime_by_code_quarter AS
SELECT municipality_code, area_code, year(registered_date) AS year, quarter(registered_date) AS quarter, crime_code,
       sum(crime_count)::BIGINT AS crimes
FROM crime GROUP BY ALL;

CREATE TABLE marts.crime_by_quarter AS
SELECT c.municipality_code, c.area_code, year(c.registered_date) AS year, quarter(c.registered_date) AS quarter,
       coalesce(cc.level2, 'Okänd brottskod') AS category,
       coalesce(cc.counts_as_crime::BOOLEAN, true) AS counts_as_crime, sum(c.crime_count)::BIGINT AS crimes
FROM crime AS c LEFT JOIN crime_codes AS cc ON cc.crime_code = c.crime_code
GROUP BY ALL;

CREATE TABLE est AS
SELECT "Händelse-id" AS event_id, "Tidpunkt" AS occurred_at, "Kommunkod" AS municipality_code,
       coalesce("Områdeskod", '') AS area_code, "Plats" AS place, "Latitud" AS lat, "Longitud" AS lon,
       "Kategori" AS category, coalesce("Underkategori", '') AS subcategory
FROM read_csv('{incoming}/est_events/*.csv', delim = ';', header = true, timestampformat = '%Y-%m-%d %H:%M',
              columns = {'Händelse-id': 'VARCHAR', 'Tidpunkt': 'TIMESTAMP', 'Kommunkod': 'VARCHAR',
                         'Områdeskod': 'VARCHAR', 'Plats': 'VARCHAR', 'Latitud': 'DOUBLE', 'Longitud': 'DOUBLE',
                         'Kategori': 'VARCHAR', 'Underkategori': 'VARCHAR', 'Rapportör': 'VARCHAR',
                         'Beskrivning': 'VARCHAR', 'Status': 'VARCHAR'});

CREATE TABLE marts.est_by_quarter AS
SELECT municipality_code, area_code, year(occurred_at) AS year, quarter(occurred_at) AS quarter, category,
       subcategory, count(*)::BIGINT AS events
FROM est GROUP BY ALL;

CREATE TABLE marts.est_places AS
SELECT municipality_code, area_code, coalesce(place, 'Okänd plats') AS place, year(occurred_at) AS year,
       quarter(occurred_at) AS quarter, count(*)::BIGINT AS events, avg(lat) AS lat, avg(lon) AS lon
FROM est GROUP BY ALL;

CREATE TABLE marts.est_weekday_hour AS
SELECT municipality_code, year(occurred_at) AS year, quarter(occurred_at) AS quarter, isodow(occurred_at) AS weekday,
       hour(occurred_at) AS hour, count(*)::BIGINT AS events
FROM est GROUP BY ALL;

CREATE TABLE survey AS
SELECT "Löpnummer" AS respondent_id, "År" AS year, "Kommunkod" AS municipality_code, "Områdeskod" AS area_code,
       "Vikt" AS weight,
       CASE "Otrygg sent på kvällen" WHEN 'Ja' THEN true WHEN 'Nej' THEN false END AS unsafe_evening,
       CASE "Orolig för brottsligheten" WHEN 'Ja' THEN true WHEN 'Nej' THEN false END AS worried_crime,
       CASE "Problem nedskräpning" WHEN 'Ja' THEN true WHEN 'Nej' THEN false END AS problem_littering,
       CASE "Problem narkotikaförsäljning" WHEN 'Ja' THEN true WHEN 'Nej' THEN false END AS problem_drugs,
       CASE "Förtroende för polisen" WHEN 'Ja' THEN true WHEN 'Nej' THEN false END AS trust_police
FROM read_csv('{incoming}/survey_responses/*.csv', delim = ';', header = true, all_varchar = true);

CREATE TABLE marts.survey_by_year AS
WITH answers AS (
    SELECT municipality_code, area_code, year::INTEGER AS year, weight::DOUBLE AS weight, item, answer
    FROM (UNPIVOT survey ON unsafe_evening, worried_crime, problem_littering, problem_drugs, trust_police
          INTO NAME item VALUE answer)
    WHERE answer IS NOT NULL
),
grouped AS (
    SELECT municipality_code,
           CASE WHEN grouping(area_code) = 1 THEN '' ELSE coalesce(area_code, 'okänt') END AS area_code,
           year, item, count(*) AS n, sum(weight) AS weight_sum, sum(weight * weight) AS weight_sq_sum,
           sum(CASE WHEN answer THEN weight ELSE 0 END) AS weight_yes
    FROM answers
    GROUP BY GROUPING SETS ((municipality_code, area_code, year, item), (municipality_code, year, item))
)
SELECT municipality_code, area_code, year, item, n::BIGINT AS n,
       round(weight_sum * weight_sum / weight_sq_sum, 1) AS n_eff, weight_yes / weight_sum AS share
FROM grouped;
