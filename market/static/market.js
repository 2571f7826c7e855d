/* Behaviour the templates ask for by data attributes (no inline scripts: the CSP is script-src 'self').
 *
 * <form data-confirm="question">: asks before submitting; Cancel keeps the page as it is.
 */
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);
})();
