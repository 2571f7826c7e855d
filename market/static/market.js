/* Behaviour the templates ask for by data attributes (no inline scripts: the CSP is script-src 'self').
 *
 * <form data-confirm="question">: asks before submitting; Cancel keeps the page as it is.
 * <button type="submit" data-confirm="question">: the same for that button only (a form that saves or deletes).
 */
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    var button = event.submitter;
    var question = (button && button.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);
})();

/* <div id="subsidy-estimate" data-estimate-url="..." data-amount-from="price_cny|booking" [data-rate]>:
 * when the user changes the price (a bid) or the period (a booking: hours x data-rate), asks
 * GET /subsidies/estimate/REF?amount=X (as typed) and replaces the [data-estimate-text] sentence with the
 * estimate, or with what is wrong with the amount (``amount_problem``: 38万 is read, 10^13 is over the limit).
 * Without script the server-rendered sentence stays as it is.
 */
(function () {
  "use strict";
  var box = document.getElementById("subsidy-estimate");
  if (!box || !window.fetch) return;
  var url = box.getAttribute("data-estimate-url");
  var from = box.getAttribute("data-amount-from");
  var text = box.querySelector("[data-estimate-text]");
  var basis = box.querySelector("[data-estimate-basis]");
  if (!url || !from || !text) return;
  var timer = null;
  function amount() {
    if (from === "booking") {
      var start = document.querySelector("#booking-form input[name=start_at]");
      var end = document.querySelector("#booking-form input[name=end_at]");
      var rate = parseFloat(box.getAttribute("data-rate") || "");
      if (!start || !end || !start.value || !end.value || isNaN(rate)) return null;
      var hours = (Date.parse(end.value) - Date.parse(start.value)) / 3600000;
      if (!(hours > 0)) return null;
      return (hours * rate).toFixed(2);
    }
    var input = document.querySelector("input[name=" + from + "]");
    var value = input ? input.value.trim() : "";
    return value ? value : null;  /* as typed (38万, 380,000): the server reads it, or says what it accepts */
  }
  function update() {
    var value = amount();
    if (value === null) return;
    var sep = url.indexOf("?") < 0 ? "?" : "&";
    fetch(url + sep + "amount=" + encodeURIComponent(value), {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) return;
        text.textContent = data.text;
        if (data.amount_problem) {
          if (basis) basis.textContent = "";
          box.removeAttribute("data-amount");
          return;
        }
        if (basis) basis.textContent = box.getAttribute("data-basis-live") || "";
        box.setAttribute("data-amount", value);
      })
      .catch(function () { /* keep the server-rendered sentence */ });
  }
  function later() {
    window.clearTimeout(timer);
    timer = window.setTimeout(update, 300);
  }
  document.addEventListener("input", later);
  document.addEventListener("change", later);
})();
