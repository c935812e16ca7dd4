// The widget's settings form: every field of the admin API, each with the API's error at it.
import { Field, SelectField } from "../../components/Field";
import { formatNumber } from "../../format";
import { contrast, SECTIONS, STRING_DEFAULTS, STRING_KEYS, type FieldDef, type FormValues } from "./config";
import { errorAt, type FieldErrors } from "./parts";

interface Props {
  values: FormValues;
  /** A demo's expiry is its TTL, changed with "Extend", not here. */
  isDemo?: boolean;
  errors: FieldErrors;
  onChange(key: string, value: string): void;
}

export function ConfigFields({ values, errors, onChange, isDemo }: Props) {
  return (
    <>
      {SECTIONS.map((section) => (
        <fieldset key={section.id}>
          <legend>{section.title}</legend>
          {section.fields.filter((field) => !(isDemo && field.kind === "datetime")).map((field) => (
            <ConfigField key={field.key} field={field} value={values[field.key] ?? ""} error={errorAt(errors, field.key)} onChange={onChange} />
          ))}
          {section.id === "look" && <ContrastNotes values={values} />}
          {section.id === "language" && <StringFields values={values} errors={errors} onChange={onChange} />}
        </fieldset>
      ))}
    </>
  );
}

function ConfigField({ field, value, error, onChange }: { field: FieldDef; value: string; error?: string; onChange: Props["onChange"] }) {
  const set = (next: string) => onChange(field.key, next);
  if (field.kind === "select") {
    return (
      <SelectField label={field.label} value={value} onChange={set} error={error} name={field.key}>
        {field.options!.map(([option, label]) => (
          <option key={option} value={option}>
            {label}
          </option>
        ))}
      </SelectField>
    );
  }
  const common = {
    label: field.label,
    name: field.key,
    value,
    error,
    hint: field.hint,
    required: field.required,
    onChange: (event: { target: { value: string } }) => set(event.target.value),
  };
  switch (field.kind) {
    case "long":
    case "lines":
      return <Field {...common} multiline />;
    case "color":
      return <Field {...common} type="color" />;
    case "int":
    case "decimal":
      return <Field {...common} type="number" inputMode={field.kind === "int" ? "numeric" : "decimal"} step={field.step ?? "1"} />;
    case "url":
      return <Field {...common} type="url" inputMode="url" />;
    case "datetime":
      return <Field {...common} type="datetime-local" />;
    default:
      return <Field {...common} />;
  }
}

/** WCAG AA asks 4.5:1 for text: say so when a colour pair falls short (the widget is the client's face). */
function ContrastNotes({ values }: { values: FormValues }) {
  const pairs: [string, string, string][] = [
    ["Text on the primary color", "config.theme.on_primary_color", "config.theme.primary_color"],
    ["Text on the background", "config.theme.text_color", "config.theme.background_color"],
    ["Text on bot bubbles", "config.theme.text_color", "config.theme.bot_bubble_color"],
  ];
  const low = pairs
    .map(([label, a, b]) => [label, contrast(values[a] ?? "", values[b] ?? "")] as const)
    .filter(([, ratio]) => ratio !== null && ratio < 4.5);
  if (low.length === 0) return null;
  return (
    <div className="notice notice--warning" role="status">
      <p>Hard to read (WCAG AA asks for 4.5:1):</p>
      <ul>
        {low.map(([label, ratio]) => (
          <li key={label}>
            {label}: {formatNumber(Math.round(ratio! * 10) / 10)}:1
          </li>
        ))}
      </ul>
    </div>
  );
}

function StringFields({ values, errors, onChange }: Props) {
  const changed = STRING_KEYS.filter((key) => values[`config.strings.${key}`]?.trim()).length;
  const stringsError = errors["config.strings"];
  return (
    <details className="strings" open={Boolean(stringsError) || Object.keys(errors).some((k) => k.startsWith("config.strings."))}>
      <summary>
        Interface text <span className="muted small">({changed === 0 ? "all default" : `${formatNumber(changed)} changed`})</span>
      </summary>
      <p className="hint">Empty fields use the default shown in them. {"{seconds}"}, {"{date}"} and {"{text}"} are filled in by the widget.</p>
      {stringsError && <p className="field-error">{stringsError}</p>}
      {STRING_KEYS.map((key) => (
        <Field
          key={key}
          label={`“${STRING_DEFAULTS[key]}”`}
          name={`config.strings.${key}`}
          placeholder={STRING_DEFAULTS[key]}
          value={values[`config.strings.${key}`] ?? ""}
          error={errorAt(errors, `config.strings.${key}`)}
          onChange={(event) => onChange(`config.strings.${key}`, event.target.value)}
        />
      ))}
    </details>
  );
}
