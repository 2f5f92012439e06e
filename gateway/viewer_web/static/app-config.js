// OHIF Viewer configuration for RadBridge (replaces the packaged app-config.js).
//
// One data source: the gateway's own DICOMweb root on this origin. Every request goes through
// the gateway's per-study access checks with the signed-in user's bearer token; Orthanc is never
// reachable from the browser. The study list is off: studies are opened from RadBridge's
// worklist by StudyInstanceUID (/viewer/viewer?StudyInstanceUIDs=...).
(function () {
  'use strict'
  var root = window.location.origin + '/dicomweb'
  window.config = {
    name: 'radbridge',
    routerBasename: '/viewer',
    extensions: [],
    modes: [],
    // No first-visit tour: it covers the study on every new browser profile.
    customizationService: [{ 'ohif.tours': { $set: [] } }],
    showStudyList: false,
    maxNumberOfWebWorkers: 2,
    showWarningMessageForCrossOrigin: false,
    showCPUFallbackMessage: true,
    showLoadingIndicator: true,
    strictZSpacingForVolumeViewport: true,
    maxNumRequests: { interaction: 100, thumbnail: 5, prefetch: 10 },
    showErrorDetails: 'production',
    defaultDataSourceName: 'radbridge',
    dataSources: [
      {
        namespace: '@ohif/extension-default.dataSourcesModule.dicomweb',
        sourceName: 'radbridge',
        configuration: {
          friendlyName: 'RadBridge gateway',
          name: 'radbridge',
          wadoUriRoot: root,
          qidoRoot: root,
          wadoRoot: root,
          qidoSupportsIncludeField: false,
          imageRendering: 'wadors',
          thumbnailRendering: 'wadors',
          enableStudyLazyLoad: true,
          supportsFuzzyMatching: false,
          supportsWildcard: false,
          staticWado: false,
          singlepart: 'bulkdata,video',
          bulkDataURI: { enabled: true, relativeResolution: 'studies' },
          omitQuotationForMultipartRequest: true
        }
      }
    ],
    httpErrorHandler: function (error) {
      // An expired or revoked token: sign in again and come back to the same study.
      if (error && error.status === 401) {
        window.sessionStorage.removeItem('radbridge.viewer.session')
        var next = window.location.pathname + window.location.search
        window.location.replace('/viewer/sign-in?next=' + encodeURIComponent(next))
      }
    }
  }
})()
