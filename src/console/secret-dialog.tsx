/**
 * The show-once dialog: a new key's or token's secret, a copy button, snippets that use it, and a confirmation
 * before it closes. The secret exists in the page only while the dialog is open: closing it empties the dialog's
 * secret parts, and the page keeps no other copy (the create form is reset, the API's answer is not stored). While
 * it is open, leaving the page asks first (`beforeunload`).
 */

export function SecretDialog() {
  return (
    // closedby="none": Escape (a "close request") does not close it; Chromium lets a page cancel only a few of them.
    <dialog id="secret-dialog" closedby="none" aria-labelledby="secret-title" aria-describedby="secret-warning">
      <h2 id="secret-title">Your new secret</h2>
      <p id="secret-warning" class="warning">
        This is the only time keygate shows this secret: it stores only a hash. Copy it now and keep it somewhere safe.
      </p>
      <code id="secret-value" class="secret"></code>
      <div class="actions">
        <button id="secret-copy" type="button" class="primary">
          Copy secret
        </button>
        <span id="secret-copied" role="status" aria-live="polite"></span>
      </div>
      <div id="secret-snippets"></div>
      <form method="dialog" id="secret-close-form">
        <label class="toggle">
          <input type="checkbox" id="secret-stored" /> I have stored this secret somewhere safe
        </label>
        <div class="actions">
          <button id="secret-close" type="submit" disabled>
            Close
          </button>
        </div>
      </form>
    </dialog>
  );
}

/** Browser code for the dialog: `showSecret({title, secret, snippets: [{label, code}]})` resolves when it closes. */
export const SECRET_DIALOG_SCRIPT = String.raw`
function showSecret({ title, secret, snippets }) {
  const dialog = document.getElementById("secret-dialog");
  const value = document.getElementById("secret-value");
  const stored = document.getElementById("secret-stored");
  const close = document.getElementById("secret-close");
  const copied = document.getElementById("secret-copied");
  const box = document.getElementById("secret-snippets");
  const opener = document.activeElement;
  document.getElementById("secret-title").textContent = title;
  value.textContent = secret;
  box.replaceChildren(...(snippets || []).flatMap((s, i) => [
    el("h3", { id: "snippet-" + i }, s.label),
    el("pre", { "aria-labelledby": "snippet-" + i }, el("code", {}, s.code)),
  ]));
  stored.checked = false;
  close.disabled = true;
  copied.textContent = "";
  const guard = (event) => { event.preventDefault(); event.returnValue = ""; };
  const onStored = () => {
    close.disabled = !stored.checked;
    dialog.setAttribute("closedby", stored.checked ? "closerequest" : "none");
  };
  // Escape closes a modal dialog: not before the operator has said the secret is stored (for browsers without
  // closedby, which may still close it after a few Escapes: then it opens again, below).
  const onCancel = (event) => { if (!stored.checked) { event.preventDefault(); stored.focus(); } };
  const onCopy = async () => {
    try {
      await navigator.clipboard.writeText(value.textContent);
      copied.textContent = "Copied to the clipboard.";
    } catch {
      // No clipboard access (an insecure origin, a denied permission): select it for Ctrl+C instead.
      getSelection().selectAllChildren(value);
      copied.textContent = "Selected: press Ctrl+C (⌘C) to copy.";
    }
  };
  const copy = document.getElementById("secret-copy");
  stored.addEventListener("change", onStored);
  dialog.addEventListener("cancel", onCancel);
  copy.addEventListener("click", onCopy);
  addEventListener("beforeunload", guard);
  dialog.setAttribute("closedby", "none");
  dialog.showModal();
  copy.focus();
  return new Promise((resolve) => {
    dialog.addEventListener("close", function onClose() {
      if (!stored.checked) { dialog.showModal(); stored.focus(); return; }
      dialog.removeEventListener("close", onClose);
      removeEventListener("beforeunload", guard);
      stored.removeEventListener("change", onStored);
      dialog.removeEventListener("cancel", onCancel);
      copy.removeEventListener("click", onCopy);
      // The secret leaves the DOM with the dialog: the text node, the snippets, and any selection of it.
      value.replaceChildren();
      box.replaceChildren();
      copied.textContent = "";
      getSelection().removeAllRanges();
      if (opener && opener.isConnected) opener.focus();
      resolve();
    });
  });
}

/** curl and OpenAI SDK snippets for an API key on a deployment whose base URL is url + "/v1". */
function keySnippets(secret, deploymentUrl, model) {
  const base = deploymentUrl + "/v1";
  const m = model || "your-model";
  return [
    { label: "curl", code: "curl " + base + "/chat/completions \\\n  -H 'Authorization: Bearer " + secret + "' \\\n  -H 'Content-Type: application/json' \\\n  -d '{\"model\": \"" + m + "\", \"messages\": [{\"role\": \"user\", \"content\": \"Hello\"}]}'" },
    { label: "OpenAI SDK (Python)", code: "from openai import OpenAI\nclient = OpenAI(base_url=\"" + base + "\", api_key=\"" + secret + "\")\nprint(client.chat.completions.create(model=\"" + m + "\", messages=[{\"role\": \"user\", \"content\": \"Hello\"}]).choices[0].message.content)" },
    { label: "OpenAI SDK (JavaScript)", code: "import OpenAI from \"openai\";\nconst client = new OpenAI({ baseURL: \"" + base + "\", apiKey: \"" + secret + "\" });\nconst reply = await client.chat.completions.create({ model: \"" + m + "\", messages: [{ role: \"user\", content: \"Hello\" }] });\nconsole.log(reply.choices[0].message.content);" },
  ];
}
`;
