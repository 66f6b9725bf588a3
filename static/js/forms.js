// After a form comes back with errors, put the cursor where the first problem is.
const invalid = document.querySelector('main [aria-invalid="true"]');
if (invalid) {
  invalid.focus();
} else {
  const errors = document.querySelector("main .form-errors");
  const field = errors && errors.closest("form")?.querySelector("input:not([type=hidden]), select, textarea");
  if (field) field.focus();
}
